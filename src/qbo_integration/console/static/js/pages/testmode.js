// Test mode: a dry run over a date range (nothing is written to QuickBooks), per-timecard results with
// what would be sent as a table in words, and the switch that enables live sync: it is not offered as
// clickable until a dry run passes on this page.

import { get, optional, post } from "../api.js";
import { busy, errorBox, feedback, h, isoDate, message, needToken, panel, replace, table } from "../dom.js";
import { timecardLink, timecardNames } from "../names.js";
import { previewTable } from "../preview.js";
import { loadZoneNote } from "../zones.js";

const OPERATION_WORDS = {
  create: "new in QuickBooks", update: "changed since it synced: QuickBooks will be updated",
  unchanged: "already in QuickBooks as it is: nothing to send",
  delete: "would be removed from QuickBooks", skip: "nothing to send",
};

/** {Employee: {qboId: {name}}, ...} from the imported directory: the preview's records by name. */
async function directoryNames(companyId) {
  const records = await optional(get("mapping/records", { companyId }), { qbo: {} }).catch(() => ({ qbo: {} }));
  const out = {};
  for (const [entity, list] of Object.entries(records.qbo || {})) out[entity] = Object.fromEntries(list.map((q) => [q.qboId, q]));
  return out;
}

function resultsTable(res, labels, names) {
  return table({ class: "results", id: "dry-run-results" }, ["Timecard", "Result", "What would happen", "Problems", ""],
    res.timecards.map((t) => {
      const preview = h("tr", { class: "details", hidden: true }, h("td", { colspan: "5" },
        t.preview ? previewTable(t.preview, names) : "Nothing would be sent: fix the problems first."));
      return [
        h("tr", { class: t.valid ? "pass" : "fail", dataset: { timecardId: t.timecardId } },
          h("td", { class: "timecard-name" }, timecardLink(labels, t.timecardId),
            t.sync ? h("span", { class: "timecard-now muted" }, t.sync.sentence) : null),
          h("td", {}, h("span", { class: `pill ${t.valid ? "pill-ok" : "pill-error"}` }, t.valid ? "ready" : "problem")),
          h("td", {}, OPERATION_WORDS[t.operation] || t.operation),
          h("td", {}, t.errors.length ? h("ul", { class: "errors-list" }, t.errors.map((e) =>
            h("li", {}, `${e.message} `, h("em", {}, `Fix: ${e.fix}`)))) : "—"),
          h("td", {}, h("button", {
            class: "link", "aria-expanded": "false",
            onclick: (ev) => {
              preview.hidden = !preview.hidden;
              ev.currentTarget.setAttribute("aria-expanded", String(!preview.hidden));
              ev.currentTarget.textContent = preview.hidden ? "What would be sent" : "Hide";
            },
          }, "What would be sent"))),
        preview,
      ];
    }));
}

function liveBlock(companyId, enabled, passed, out, rerender) {
  const toggle = (value) => async (ev) => {
    try {
      const res = await busy(ev.currentTarget, () => post("live-sync", { companyId, enabled: value }));
      feedback(out, message(res.enabled ? "ok" : "info", res.enabled
        ? `${res.message}. Next: watch them arrive on the dashboard.` : res.message),
      res.enabled ? h("p", {}, h("a", { class: "button", href: "#/dashboard" }, "Open the dashboard →")) : null);
      rerender();
    } catch (err) {
      feedback(out, errorBox(err));
    }
  };
  return h("div", { id: "live-sync" },
    h("p", {}, "Live sync is ", h("strong", { id: "live-sync-state" }, enabled ? "on" : "off"), enabled
      ? ": approved timecards go to QuickBooks as they are approved."
      : ": nothing is sent to QuickBooks until you enable it."),
    enabled
      ? h("button", { id: "disable-live", onclick: toggle(false) }, "Turn live sync off")
      : h("button", { id: "enable-live", class: passed ? "primary" : "", disabled: !passed,
        "aria-describedby": passed ? null : "enable-live-why", onclick: toggle(true) }, "Enable live sync"),
    !enabled && !passed ? h("p", { class: "muted", id: "enable-live-why" },
      "Run a dry run first (step 1 above): live sync can be enabled once one passes.") : null);
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
      const [labels, names] = await Promise.all([
        timecardNames(companyId, res.timecards.map((t) => t.timecardId)), directoryNames(companyId)]);
      // The verdict and the rows appear together: a message over an empty table would tell half the story.
      feedback(out, message(res.passed ? "ok" : "error",
        `${words} — ${res.timecardsValid} of ${res.timecardsChecked} timecard(s) ready.`
        + (res.passed && !conn.syncEnabled ? " Next: enable live sync (step 2 below)." : "")));
      if (res.timecards.length) replace(results, resultsTable(res, labels, names));
      drawLive();
    } catch (err) {
      replace(out, errorBox(err));
    }
  };
  const zoneBox = h("div", { id: "zone-box" });
  root.append(
    zoneBox,
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
  loadZoneNote(companyId).then((note) => { if (note && root.isConnected) replace(zoneBox, note); });
}
