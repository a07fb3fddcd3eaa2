// Setup checklist: each step with when it was done, and the time elapsed against the 48-hour target.

import { get } from "../api.js";
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
  return h("div", { class: "sla", id: "setup-clock" },
    message(kind, words),
    h("div", { class: `meter meter-${kind}`, role: "meter", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-valuenow": String(pct), "aria-label": "Share of the setup time used" },
    h("span", { style: `width:${pct}%` })),
  );
}

export async function render(root, { companyId }) {
  replace(root, h("h1", {}, "Setup checklist"));
  if (!companyId) {
    root.append(needToken());
    return;
  }
  let s;
  try {
    s = await get("setup", { companyId });
  } catch (err) {
    root.append(errorBox(err));
    return;
  }
  const done = s.steps.filter((st) => st.done).length;
  root.append(
    clock(s),
    panel(`${done} of ${s.steps.length} steps done`,
      h("ol", { class: "checklist", id: "checklist" }, s.steps.map((st) =>
        h("li", { class: st.done ? "done" : "todo", dataset: { step: st.step } },
          h("span", { class: "tick", "aria-hidden": "true" }, st.done ? "✓" : "○"),
          h("a", { href: STEP_LINKS[st.step] || "#/setup" }, st.label),
          h("span", { class: "when" }, st.done ? dateTime(st.doneAt) : "to do"),
        ))),
      s.startedAt ? h("p", { class: "muted" }, `Started ${dateTime(s.startedAt)}; target ${dateTime(s.deadlineAt)}.`) : null,
    ),
  );
}
