// Setup checklist: each step with when it was first done and, for the steps that can be undone
// (connected, live sync on), how it stands now; and the time elapsed against the 48-hour target.

import { get, optional } from "../api.js";
import { SETUP_DEADLINE_HOURS } from "../config.js";
import { dateTime, duration, errorBox, h, message, needToken, panel, replace } from "../dom.js";

const STEP_LINKS = {
  connected: "#/connect",
  directory_imported: "#/mapping",
  mapping_saved: "#/mapping",
  dry_run_passed: "#/test",
  live_sync_enabled: "#/test",
  first_timecard_synced: "#/dashboard",
};

export function clock(s) {
  const deadlineSeconds = (s.deadlineAt && s.startedAt)
    ? (new Date(s.deadlineAt) - new Date(s.startedAt)) / 1000
    : SETUP_DEADLINE_HOURS * 3600;
  const elapsed = s.elapsedSeconds || 0;
  const pct = Math.min(100, Math.round((elapsed / deadlineSeconds) * 100));
  const hours = Math.round(deadlineSeconds / 3600);
  let words;
  let kind;
  if (!s.startedAt) {
    words = `Not started: the ${hours}-hour clock starts when setup begins.`;
    kind = "info";
  } else if (s.complete) {
    words = `Setup complete in ${duration(elapsed)} (target ${hours} h).`;
    kind = "ok";
  } else if (s.overdue) {
    words = `${duration(elapsed)} elapsed — ${duration(-s.remainingSeconds)} past the ${hours}-hour target.`;
    kind = "error";
  } else {
    words = `${duration(elapsed)} elapsed of ${hours} h — ${duration(s.remainingSeconds ?? deadlineSeconds - elapsed)} left.`;
    kind = pct >= 75 ? "warn" : "info";
  }
  const used = `${pct}% of the ${hours}-hour setup time used`;
  return h("div", { class: "sla", id: "setup-clock" },
    message(kind, words),
    h("div", { class: "setup-clock-label", id: "setup-clock-label" },
      h("span", {}, `${hours}-hour setup clock`), h("span", {}, s.startedAt ? used : "not started")),
    h("div", { class: `meter meter-${kind}`, role: "meter", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-valuenow": String(pct), "aria-valuetext": used, "aria-labelledby": "setup-clock-label" },
    h("span", { style: `width:${pct}%` })),
  );
}

/** How a step that can be undone stands now: {ok, words}, or null for a step that stays done. */
export function stepNow(step, conn) {
  if (!conn) return null;
  if (step === "connected") {
    return conn.status === "connected"
      ? { ok: true, words: `Now: connected${conn.companyName ? ` to ${conn.companyName}` : ""}` }
      : { ok: false, words: `Now: ${conn.status === "lost" ? "the connection was lost" : "not connected"}: connect again` };
  }
  if (step === "live_sync_enabled") {
    return conn.syncEnabled ? { ok: true, words: "Now: on" }
      : { ok: false, words: "Now: off: nothing is sent to QuickBooks until you turn it on in Test mode" };
  }
  return null;
}

export async function render(root, { companyId }) {
  replace(root, h("h1", {}, "Setup checklist"));
  if (!companyId) {
    root.append(needToken());
    return;
  }
  let s;
  let conn;
  try {
    [s, conn] = await Promise.all([get("setup", { companyId }), optional(get("connection", { companyId }), null)]);
  } catch (err) {
    root.append(errorBox(err));
    return;
  }
  const now = Object.fromEntries(s.steps.map((st) => [st.step, st.done ? stepNow(st.step, conn) : null]));
  const done = s.steps.filter((st) => st.done).length;
  const lapsed = s.steps.filter((st) => now[st.step] && !now[st.step].ok).length;
  root.append(
    clock(s),
    panel(`${done} of ${s.steps.length} steps done${lapsed ? ` · ${lapsed} no longer so: see below` : ""}`,
      h("ol", { class: "checklist", id: "checklist" }, s.steps.map((st) => {
        const state = now[st.step];
        const cls = !st.done ? "todo" : state && !state.ok ? "done lapsed" : "done";
        return h("li", { class: cls, dataset: { step: st.step } },
          h("span", { class: "tick", "aria-hidden": "true" }, !st.done ? "○" : state && !state.ok ? "!" : "✓"),
          h("a", { href: STEP_LINKS[st.step] || "#/setup" }, st.label),
          state ? h("span", { class: `now ${state.ok ? "muted" : "pill pill-warn"}` }, state.words) : null,
          h("span", { class: "when" }, st.done ? `first done ${dateTime(st.doneAt)}` : "to do"),
        );
      })),
      s.startedAt ? h("p", { class: "muted" }, `Started ${dateTime(s.startedAt)}; target ${dateTime(s.deadlineAt)}.`) : null,
    ),
  );
}
