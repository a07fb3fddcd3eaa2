// The matching board of the mapping wizard: CrewFlow records (drop targets) on the left, QuickBooks
// records (draggable) on the right. HTML5 drag and drop, with keyboard alternatives: a select + Match
// button on every row, or Enter on a QuickBooks record (pick it up) then Enter on a row (drop it).
// Required rows (approved timecards waiting on them) are highlighted; suggestions show their confidence.

import { announce, h, keepFocus, replace } from "../dom.js";

const DRAG_TYPE = "application/x-qbo-record";
/** The prefix of a vendor's (subcontractor's) id on the Workers tab, where vendors join the employees. */
export const VENDOR = "v:";

export const KINDS = {
  workers: {
    tab: "Workers → Employees / Vendors", noun: "QuickBooks employee or vendor", mapKey: "employees", crewType: "worker",
    rows: (m) => m.records.workers, entity: () => "Employee",
    sub: (r) => r.email || "", suggestions: (m) => m.suggestions.workers || [], sid: "crewflowWorkerId",
    qid: () => "qboEmployeeId",
  },
  projects: {
    tab: "Projects → Customers", noun: "QuickBooks customer", mapKey: "customers", crewType: "project",
    rows: (m) => m.records.projects, entity: () => "Customer",
    sub: (r) => (r.status && r.status !== "active" ? r.status : ""), suggestions: (m) => m.suggestions.projects || [],
    sid: "crewflowProjectId", qid: () => "qboCustomerId",
  },
  costCodes: {
    tab: "Cost codes → Items / Classes", noun: "QuickBooks item", mapKey: "costCodes", crewType: "costCode",
    rows: (m) => m.records.costCodes, entity: (m) => (m.costCodeField === "Class" ? "Class" : "Item"),
    sub: (r) => r.code, suggestions: (m) => (m.suggestions.costCodeField === m.costCodeField ? m.suggestions.costCodes || [] : []),
    sid: "crewflowCostCodeId", qid: (m) => (m.costCodeField === "Class" ? "qboClassId" : "qboServiceItemId"),
  },
};

const ENTITY_NOUN = { Employee: "employee", Customer: "customer", Item: "service item", Class: "class" };
const REASON_WORDS = {
  email: "same email", name: "same name", variant: "same name, written differently", fuzzy: "similar name",
  ambiguous: "more than one record has this name", shared: "another CrewFlow record has the same best match",
  "email differs": "same name, different email",
};
const article = (noun) => (/^[aeiou]/i.test(noun) ? "an" : "a");

function confidenceClass(c) {
  return c >= 0.9 ? "conf-high" : c >= 0.8 ? "conf-mid" : "conf-low";
}

export function qboName(model, entity, qboId) {
  const rec = (model.qboIndex[entity] || {})[qboId];
  return rec ? rec.name : `Id ${qboId} (not in the imported directory)`;
}

/** How many rows differ from what was loaded (saved): the Save bar's count. */
export function unsavedCount(model) {
  let n = 0;
  if (model.ratesDirty) n += 1;
  for (const k of Object.values(KINDS)) {
    const now = model.state[k.mapKey];
    const was = model.original[k.mapKey];
    for (const id of new Set([...now.keys(), ...was.keys()])) {
      if ((now.get(id) || {}).qboId !== (was.get(id) || {}).qboId) n += 1;
    }
  }
  return n;
}

/** A row needs attention when it is not matched, or shares its QuickBooks record with another row. */
export function needsAttention(model, kind, r) {
  const k = KINDS[kind];
  const current = model.state[k.mapKey].get(r.id);
  return !current || Boolean(takenBy(model, kind, r.id, current.qboId, null));
}

/** Counts for the summary line: mapped rows and required rows still missing, per kind. */
export function summary(model) {
  const out = {};
  for (const [kind, k] of Object.entries(KINDS)) {
    const rows = k.rows(model);
    const map = model.state[k.mapKey];
    out[kind] = {
      total: rows.length,
      mapped: rows.filter((r) => map.has(r.id)).length,
      missing: rows.filter((r) => model.required.has(`${k.crewType}:${r.id}`) && !map.has(r.id)).length,
    };
  }
  return out;
}

function topSuggestion(model, kind, rowId) {
  const k = KINDS[kind];
  const entry = k.suggestions(model).find((s) => s[k.sid] === rowId);
  return entry && entry.suggestions.length ? entry.suggestions[0] : null;
}

/** The CrewFlow record (other than `rowId`) already matched to this QuickBooks record, in the current
 * (possibly unsaved) state, or the one the server says it is linked to. Workers only: one employee's
 * hours must not come from two people; many cost codes on one item is normal. */
export function takenBy(model, kind, rowId, qboId, s) {
  if (kind === "costCodes" || String(qboId).startsWith(VENDOR)) return null; // a subcontractor's crew shares its vendor
  const k = KINDS[kind];
  for (const [id, v] of model.state[k.mapKey]) {
    if (id !== rowId && v.qboId === String(qboId)) {
      const row = k.rows(model).find((r) => r.id === id);
      return row ? row.name : "another record";
    }
  }
  return (s && s.linkedTo) || null;
}

/** Accept every top suggestion at or above `min` confidence for unmapped rows, except those that would
 * put two CrewFlow records on one QuickBooks record. Returns {accepted, skipped: [row names]}. */
export function acceptSuggestions(model, min) {
  let accepted = 0;
  const skipped = [];
  for (const [kind, k] of Object.entries(KINDS)) {
    for (const r of k.rows(model)) {
      const s = topSuggestion(model, kind, r.id);
      if (!s || s.confidence < min || model.state[k.mapKey].has(r.id)) continue;
      if (takenBy(model, kind, r.id, s[k.qid(model)], s)) {
        skipped.push(r.name);
        continue;
      }
      model.state[k.mapKey].set(r.id, { qboId: String(s[k.qid(model)]), source: "profile" });
      accepted += 1;
    }
  }
  return { accepted, skipped };
}

function crewRow(model, kind, r, assign, unassign) {
  const k = KINDS[kind];
  const entity = k.entity(model);
  const current = model.state[k.mapKey].get(r.id);
  const required = model.required.has(`${k.crewType}:${r.id}`) && !current;
  const sugg = current ? null : topSuggestion(model, kind, r.id);
  const suggTaken = sugg ? takenBy(model, kind, r.id, sugg[k.qid(model)], sugg) : null;
  const alsoOn = current ? takenBy(model, kind, r.id, current.qboId, null) : null;
  const qboList = model.records.qbo[entity] || [];
  const select = h("select", { "aria-label": `${k.noun} for ${r.name}`, class: "match-select" },
    h("option", { value: "" }, `Choose ${article(ENTITY_NOUN[entity])} ${ENTITY_NOUN[entity]}…`),
    qboList.map((q) => h("option", { value: q.qboId, selected: current && current.qboId === q.qboId },
      q.name + (q.active ? "" : " (inactive)"))));
  const li = h("li", {
    class: `crew-row${required ? " required" : ""}${current ? " mapped" : ""}`, tabindex: "0",
    dataset: { id: r.id, kind, name: r.name }, "aria-label": `${r.name}${required ? ", required" : ""}`,
  },
  h("div", { class: "crew-name" }, h("strong", {}, r.name), required ? h("span", { class: "req" }, " required") : null,
    k.sub(r) ? h("small", {}, k.sub(r)) : null),
  h("div", { class: "target" },
    current
      ? h("span", { class: "chip", dataset: { qboId: current.qboId } }, qboName(model, entity, current.qboId),
        current.source === "import" ? h("small", {}, "(linked by import)") : null,
        current.source !== "import"
          ? h("button", { type: "button", class: "unmatch", "aria-label": `Remove the match of ${r.name}`,
            onclick: () => { unassign(kind, r.id); announce(`${r.name} is no longer matched (not saved yet).`); } }, "×")
          : null)
      : h("span", { class: "muted" }, `Drop ${article(ENTITY_NOUN[entity])} ${ENTITY_NOUN[entity]} here`),
    alsoOn ? h("span", { class: "conflict" }, `Warning: ${alsoOn} is matched to this ${ENTITY_NOUN[entity]} too.`) : null,
    sugg ? h("span", { class: "suggest" }, "Suggested: ", h("strong", {}, sugg.name), " ",
      h("span", { class: `conf ${confidenceClass(sugg.confidence)}` }, `${Math.round(sugg.confidence * 100)}%`),
      ` (${REASON_WORDS[sugg.reason] || sugg.reason})`,
      suggTaken ? h("span", { class: "conflict" }, `Already linked to ${suggTaken}: accepting it would give two records one ${ENTITY_NOUN[entity]}.`) : null,
      // The focus then stays on this row (dom.js restoreFocus), never on the "×" that takes the Accept's place.
      h("button", { type: "button", class: "accept", "aria-label": `Accept ${sugg.name} for ${r.name}`, onclick: () => {
        assign(kind, r.id, sugg[k.qid(model)]);
        announce(`${r.name} matched to ${sugg.name} (not saved yet).`);
      } }, "Accept"))
      : null),
  h("div", { class: "keyboard" }, select,
    h("button", { type: "button", class: "match", onclick: () => select.value && assign(kind, r.id, select.value) }, "Match")),
  );
  li.addEventListener("dragover", (ev) => {
    if ([...ev.dataTransfer.types].includes(DRAG_TYPE) || [...ev.dataTransfer.types].includes("text/plain")) {
      ev.preventDefault();
      ev.dataTransfer.dropEffect = "link";
      li.classList.add("drop-over");
    }
  });
  li.addEventListener("dragleave", () => li.classList.remove("drop-over"));
  li.addEventListener("drop", (ev) => {
    ev.preventDefault();
    li.classList.remove("drop-over");
    let data = null;
    try {
      data = JSON.parse(ev.dataTransfer.getData(DRAG_TYPE) || "null");
    } catch { /* ignore */ }
    if (!data) data = { entity, qboId: ev.dataTransfer.getData("text/plain") };
    if (data.entity === entity && data.qboId) assign(kind, r.id, data.qboId);
  });
  li.addEventListener("pointerup", (ev) => {
    if (ev.button === 0 && pressed && !pressed.dragging && pressed.entity === entity) {
      const { qboId } = pressed;
      pressed = null;
      assign(kind, r.id, qboId);
    }
  });
  li.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && ev.target === li && model.picked && model.picked.entity === entity) {
      assign(kind, r.id, model.picked.qboId);
      model.picked = null;
    }
  });
  return li;
}

// The QuickBooks record the pointer went down on. Chromium starts an HTML5 drag on whatever is under the
// pointer when the drag begins, not where it was pressed: if the page scrolled in between (a wheel turn,
// or a test driver scrolling the drop target into view; the QuickBooks list is sticky) that is another
// record, or nothing draggable at all. So dragstart sends the pressed record, and a press on a record
// released on a CrewFlow row with no drag started is a drop too.
let pressed = null;
document.addEventListener("pointerdown", () => { pressed = null; }, true);

function qboItem(model, entity, q) {
  const picked = model.picked && model.picked.entity === entity && model.picked.qboId === q.qboId;
  const item = h("li", {
    class: `qbo-item${q.active ? "" : " inactive"}${picked ? " picked" : ""}`, draggable: "true", tabindex: "0",
    dataset: { qboId: q.qboId, entity }, "aria-pressed": picked ? "true" : "false",
    title: "Drag onto a CrewFlow record, or press Enter then Enter on the record",
  }, h("span", {}, q.name, q.email ? h("small", {}, ` ${q.email}`) : null),
  h("small", {}, q.active ? `#${q.qboId.replace(VENDOR, "")}` : q.state));
  item.addEventListener("pointerdown", () => { pressed = { entity, qboId: q.qboId, el: item }; });
  item.addEventListener("dragstart", (ev) => {
    const src = pressed && pressed.entity === entity ? pressed : { entity, qboId: q.qboId, el: item };
    src.dragging = true;
    pressed = src;
    ev.dataTransfer.setData(DRAG_TYPE, JSON.stringify({ entity, qboId: src.qboId }));
    ev.dataTransfer.setData("text/plain", src.qboId);
    ev.dataTransfer.effectAllowed = "link";
    src.el.classList.add("dragging");
    item.addEventListener("dragend", () => {
      src.el.classList.remove("dragging");
      pressed = null;
    }, { once: true });
  });
  item.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      model.picked = picked ? null : { entity, qboId: q.qboId };
      model.rerender();
    }
  });
  return item;
}

/** Render the tabs and the board for model.tab into `root`; `changed()` is called after every edit. */
export function renderBoard(root, model, changed) {
  const kind = model.tab;
  const k = KINDS[kind];
  const entity = k.entity(model);
  const assign = (kd, id, qboId) => {
    model.state[KINDS[kd].mapKey].set(id, { qboId: String(qboId), source: "profile" });
    changed();
  };
  const unassign = (kd, id) => {
    model.state[KINDS[kd].mapKey].delete(id);
    changed();
  };
  const counts = summary(model);
  const tabs = h("div", { class: "tabs", role: "tablist" }, Object.entries(KINDS).map(([kd, kk]) =>
    h("button", {
      type: "button", role: "tab", id: `tab-${kd}`, "aria-selected": kd === kind ? "true" : "false",
      onclick: () => { model.tab = kd; model.picked = null; model.rerender(); },
    }, kk.tab, " ", h("span", { class: counts[kd].missing ? "pill pill-warn" : "pill pill-ok" },
      counts[kd].missing ? `${counts[kd].missing} required` : `${counts[kd].mapped}/${counts[kd].total}`))));
  const filter = (model.filter || "").toLowerCase();
  const qboList = (model.records.qbo[entity] || [])
    .filter((q) => !filter || q.name.toLowerCase().includes(filter) || (q.email || "").toLowerCase().includes(filter));
  const search = h("input", { type: "search", placeholder: `Filter ${ENTITY_NOUN[entity]}s`, value: model.filter || "",
    "aria-label": `Filter QuickBooks ${ENTITY_NOUN[entity]}s` });
  search.addEventListener("input", () => {
    model.filter = search.value;
    const list = root.querySelector(".qbo-list");
    const f = search.value.toLowerCase();
    for (const li of list.children) li.hidden = f && !li.textContent.toLowerCase().includes(f);
  });
  const allRows = k.rows(model);
  const crewFilter = (model.crewFilter || "").toLowerCase();
  const rows = allRows.filter((r) => (!crewFilter || `${r.name} ${k.sub(r) || ""}`.toLowerCase().includes(crewFilter))
    && (!model.attention || needsAttention(model, kind, r)));
  const crewSearch = h("input", { type: "search", id: "crew-search", placeholder: `Search CrewFlow ${kind === "costCodes" ? "cost codes" : kind}`,
    value: model.crewFilter || "", "aria-label": `Search CrewFlow ${kind === "costCodes" ? "cost codes" : kind}` });
  crewSearch.addEventListener("input", () => { model.crewFilter = crewSearch.value; model.rerender(); });
  const attention = h("label", { class: "radio" }, h("input", { type: "checkbox", id: "needs-attention", checked: Boolean(model.attention),
    onchange: (ev) => { model.attention = ev.currentTarget.checked; model.rerender(); } }), " Only rows that need attention");
  keepFocus(() => replace(root,
    tabs,
    h("div", { class: "board", id: `board-${kind}` },
      h("div", {},
        h("h3", {}, `CrewFlow ${kind === "costCodes" ? "cost codes" : kind}`),
        allRows.length ? h("div", { class: "board-tools" }, crewSearch, attention,
          h("span", { class: "muted", id: "crew-shown" }, `${rows.length} of ${allRows.length} shown`)) : null,
        rows.length ? h("ul", { class: "crew-list", id: "crew-list" }, rows.map((r) => crewRow(model, kind, r, assign, unassign)))
          : h("p", { class: "muted", id: "crew-none" }, allRows.length ? "Nothing matches the search or filter." : "None in CrewFlow yet.")),
      h("div", { class: "qbo-col" },
        h("h3", {}, `QuickBooks ${ENTITY_NOUN[entity]}s`),
        search,
        qboList.length ? h("ul", { class: "qbo-list", id: "qbo-list" }, qboList.map((q) => qboItem(model, entity, q)))
          : h("p", { class: "muted" }, "None imported yet: run the import above."))),
  ));
}
