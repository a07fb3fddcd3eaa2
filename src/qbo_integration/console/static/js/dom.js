// Small DOM helpers shared by the pages: an element builder, messages, busy buttons, time formatting.

/** h("button", {class: "primary", onclick}, "Save") — attributes starting with "on" become listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "text") el.textContent = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A message box: kind is "error", "ok", "warn" or "info". Errors may be ApiError (their words are shown). */
export function message(kind, what, extra) {
  const text = what instanceof Node ? what : what && what.words ? what.words : what && what.message ? what.message
    : String(what);
  return h("div", { class: `msg msg-${kind}`, role: kind === "error" ? "alert" : "status" }, text, extra);
}

export function errorBox(err) {
  return message("error", err);
}

/** The outcome of a click, shown in `out` (next to the control) and read out by screen readers (#announcer,
 * the page's one polite live region): `msg` is a message() or any element. */
export function feedback(out, ...msgs) {
  replace(out, ...msgs);
  announce(msgs.filter(Boolean).map((m) => m.textContent.trim()).join(" "));
  const r = out.getBoundingClientRect();
  if (r.height && (r.top < 0 || r.bottom > window.innerHeight)) out.scrollIntoView({ block: "nearest" });
  return out;
}

/** Words for screen readers only (the visible change is elsewhere, e.g. a row now matched). */
export function announce(text) {
  const announcer = document.getElementById("announcer");
  if (!announcer) return;
  announcer.textContent = "";
  // set in a later task: the same words twice in a row are announced again
  setTimeout(() => { announcer.textContent = text; }, 50);
}

/** Disable a button while an action runs; show the outcome in `out` (an element) if given. */
export async function busy(button, action) {
  const label = button.textContent;
  button.disabled = true;
  button.classList.add("busy");
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.classList.remove("busy");
    button.textContent = label;
  }
}

// The company's IANA time zone (from Core, set at sign-in): every time the console shows is in it.
let zone;
export function setZone(tz) {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    zone = tz || undefined;
  } catch {
    zone = undefined; // not a zone the browser knows: the browser's own
  }
}

export function dateTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso)
    : d.toLocaleString("en-US", { timeZone: zone, year: "numeric", month: "short", day: "numeric", hour: "numeric",
      minute: "2-digit", timeZoneName: "short" });
}

export function clock(date = new Date()) {
  return date.toLocaleTimeString("en-US", { timeZone: zone, hour: "numeric", minute: "2-digit", second: "2-digit" });
}

/** "2:07 PM" (the company's zone). */
export function hourMinute(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso)
    : d.toLocaleTimeString("en-US", { timeZone: zone, hour: "numeric", minute: "2-digit" });
}

export function ago(iso, now = Date.now()) {
  if (!iso) return "never";
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (Number.isNaN(s)) return String(iso);
  if (s < 0) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(Math.abs(seconds)));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  return hh ? `${hh} h ${mm} min` : `${mm} min`;
}

/** "YYYY-MM-DD" for a Date, in local time. */
export function isoDate(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function pretty(value) {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

/** Technical content (JSON) folded away behind a "Details" toggle. */
export function details(summary, ...children) {
  return h("details", { class: "raw" }, h("summary", {}, summary), ...children);
}

/** Ids, payloads and internal names, for those who want them: closed by default. */
export function technical(...children) {
  return h("details", { class: "raw technical" }, h("summary", {}, "Technical details"), ...children);
}

/** A table that becomes stacked rows on a phone: each cell carries its column's heading, which only a
 * phone shows (CSS ::before, so the cell's own text stays the same). */
export function table(attrs, headings, rows) {
  const out = h("table", { ...attrs, class: `table stack${attrs.class ? ` ${attrs.class}` : ""}` },
    h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows));
  for (const tr of out.tBodies[0].rows) {
    [...tr.cells].forEach((td, i) => {
      if (!headings[i] || td.hasAttribute("colspan")) return;
      td.dataset.label = headings[i];
      if (td.textContent.trim() === "—") td.classList.add("empty"); // a phone skips what says nothing
    });
  }
  return out;
}

/** A titled panel section. */
export function panel(title, ...children) {
  return h("section", { class: "panel" }, title ? h("h2", {}, title) : null, ...children);
}

/** Show a page-level "sign in first" state. */
export function needToken() {
  return message("info", "Paste a CrewFlow admin bearer token in the field at the top (or use the dev token) to start.");
}

// ---- focus across re-renders: pages rebuild their DOM (a pick, a refresh); the keyboard user stays put.
// An element found by its place under an ancestor must be the same kind of control (class and label): when
// a row's "Accept" is replaced by the "×" that undoes it, the focus goes to the row, not to the "×".
function ownKey(el) {
  if (el.id) return `#${CSS.escape(el.id)}`;
  const data = Object.entries(el.dataset || {});
  if (!data.length) return null;
  const attr = (k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return el.tagName.toLowerCase() + data.map(([k, v]) => `[data-${attr(k)}="${CSS.escape(v)}"]`).join("");
}

const kindOf = (el) => `${el.className}|${el.getAttribute("aria-label") || ""}`;

/** How to find "the same" element after a re-render, or null when nothing worth keeping has focus. */
export function focusKey(el = document.activeElement) {
  if (!el || el === document.body || el === document.documentElement) return null;
  const own = ownKey(el);
  if (own) return { own };
  for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    const key = ownKey(a);
    if (key) {
      const tag = el.tagName.toLowerCase();
      return { anc: key, tag, idx: [...a.querySelectorAll(tag)].indexOf(el), kind: kindOf(el) };
    }
  }
  return null;
}

export function restoreFocus(key) {
  if (!key || (document.activeElement && document.activeElement !== document.body)) return;
  let el = null;
  if (key.own) el = document.querySelector(key.own);
  else {
    const a = document.querySelector(key.anc);
    if (a) {
      const all = [...a.querySelectorAll(key.tag)];
      el = all[key.idx] && kindOf(all[key.idx]) === key.kind ? all[key.idx]
        : all.find((e) => kindOf(e) === key.kind) || (a.tabIndex >= 0 ? a : null);
    }
  }
  if (!el) return;
  el.focus({ preventScroll: true });
  if (el.tagName === "INPUT" && /^(text|search)$/.test(el.type)) el.setSelectionRange(el.value.length, el.value.length);
}

/** Run a synchronous re-render and put the focus back where it was. */
export function keepFocus(render) {
  const key = focusKey();
  const out = render();
  restoreFocus(key);
  return out;
}
