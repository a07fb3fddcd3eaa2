// Test mode: a dry run over a date range (nothing is written to QuickBooks), per-timecard results,
// and the switch that enables live sync once a dry run passed with the active profile.

import { get, post } from "../api.js";
import { busy, errorBox, h, isoDate, message, needToken, panel, pretty, replace } from "../dom.js";
import { timecardLabel, timecardNames } from "../names.js";

const OPERATION_WORDS = {
  create: "new in QuickBooks", update: "changed since it synced: QuickBooks will be updated",
  unchanged: "already in QuickBooks as it is: nothing to send",
  delete: "would be removed from QuickBooks", skip: "nothing to send",
};

function resultsTable(res, labels) {
  return h("table", { class: "table results", id: "dry-run-results" },
    h("thead", {}, h("tr", {}, ["Timecard", "Result", "Operation", "Problems", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, res.timecards.map((t) => {
      const preview = h("tr", { class: "details", hidden: true }, h("td", { colspan: "5" }, t.preview ? pretty(t.preview) : "No payload (fix the problems first)."));
      return [
        h("tr", { class: t.valid ? "pass" : "fail", dataset: { timecardId: t.timecardId } },
          h("td", { class: "timecard-name" }, timecardLabel(labels, t.timecardId)),
          h("td", {}, h("span", { class: `pill ${t.valid ? "pill-ok" : "pill-error"}` }, t.valid ? "ready" : "problem")),
          h("td", {}, OPERATION_WORDS[t.operation] || t.operation),
          h("td", {}, t.errors.length ? h("ul", { class: "errors-list" }, t.errors.map((e) =>
            h("li", {}, h("strong", {}, e.field), `: ${e.message} `, h("em", {}, `Fix: ${e.fix}`)))) : "—"),
          h("td", {}, h("button", { class: "link", "aria-expanded": "false", onclick: (ev) => { preview.hidden = !preview.hidden; ev.currentTarget.setAttribute("aria-expanded", String(!preview.hidden)); } }, "Details"))),
        preview,
      ];
    })));
}

function liveBlock(companyId, enabled, passed, out, rerender) {
  const toggle = (value) => async (ev) => {
    try {
      const res = await busy(ev.currentTarget, () => post("live-sync", { companyId, enabled: value }));
      replace(out, message(res.enabled ? "ok" : "info", res.message));
      rerender();
    } catch (err) {
      replace(out, errorBox(err));
    }
  };
  return h("div", { id: "live-sync" },
    h("p", {}, "Live sync is ", h("strong", { id: "live-sync-state" }, enabled ? "on" : "off"), enabled
      ? ": approved timecards go to QuickBooks as they are approved."
      : ": nothing is sent to QuickBooks until you enable it."),
    enabled
      ? h("button", { id: "disable-live", onclick: toggle(false) }, "Turn live sync off")
      : h("button", { id: "enable-live", class: "primary", onclick: toggle(true) }, "Enable live sync"),
    !enabled && !passed ? h("p", { class: "muted" }, "Live sync can be enabled once a dry run passes with the active profile.") : null);
}

export async function render(root, { companyId }) {
  replace(root, h("h1", {}, "Test mode (dry run)"));
  if (!companyId) {
    root.append(needToken());
    return;
  }
  const today = new Date();
  const start = h("input", { type: "date", id: "dry-start", value: isoDate(new Date(today.getTime() - 13 * 86400000)) });
  const end = h("input", { type: "date", id: "dry-end", value: isoDate(today) });
  const out = h("div", { class: "out", id: "dry-run-out" });
  const liveOut = h("div", { class: "out", id: "live-out" });
  const results = h("div");
  const live = h("div");
  let passed = false;
  let labels = {};

  const drawLive = async () => {
    try {
      const conn = await get("connection", { companyId });
      replace(live, liveBlock(companyId, conn.syncEnabled, passed, liveOut, drawLive));
    } catch (err) {
      replace(live, errorBox(err));
    }
  };

  const run = async (ev) => {
    replace(out);
    replace(results);
    if (!start.value || !end.value || end.value < start.value) {
      replace(out, message("error", !start.value || !end.value ? "Pick both dates." : "The end date must be on or after the start date."));
      return;
    }
    try {
      const res = await busy(ev.currentTarget, () => post("dry-run", { companyId, startDate: start.value, endDate: end.value }));
      passed = res.passed;
      replace(liveOut); // an earlier "run a dry run first" no longer applies
      const conn = await get("connection", { companyId }).catch(() => ({}));
      const words = conn.syncEnabled ? res.message.replace(/ ?You can enable live sync\.?/, " Live sync is already on.") : res.message;
      labels = await timecardNames(companyId, res.timecards.map((t) => t.timecardId));
      // The verdict and the rows appear together: a message over an empty table would tell half the story.
      replace(out, message(res.passed ? "ok" : "error",
        `${words} — ${res.timecardsValid} of ${res.timecardsChecked} timecard(s) ready.`));
      if (res.timecards.length) replace(results, resultsTable(res, labels));
      drawLive();
    } catch (err) {
      replace(out, errorBox(err));
    }
  };
  root.append(
    panel("1. Dry run",
      h("p", {}, "Runs the real sync for approved timecards in the range, checking every reference against QuickBooks, ",
        "without writing anything."),
      h("div", { class: "range" },
        h("label", { class: "field", for: "dry-start" }, h("span", {}, "From"), start),
        h("label", { class: "field", for: "dry-end" }, h("span", {}, "To"), end),
        h("button", { id: "run-dry-run", class: "primary", onclick: run }, "Run dry run")),
      out, results),
    panel("2. Go live", live, liveOut),
  );
  await drawLive();
}
