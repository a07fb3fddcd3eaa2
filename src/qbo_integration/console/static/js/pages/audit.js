// Audit log: filters (dates, status, action, worker, project, timecard), pages, CSV download of the
// same filter, and the fallback CSV of unsynced timecards.

import { download, get, optional } from "../api.js";
import { busy, dateTime, errorBox, h, message, needToken, panel, pretty, replace } from "../dom.js";
import { timecardLabel, timecardNames } from "../names.js";

export const ACTION_WORDS = {
  sync_timecard: "Timecard sent to QuickBooks",
  update_timecard: "Timecard updated in QuickBooks",
  delete_timecard: "Timecard removed from QuickBooks",
  dry_run: "Dry run",
  mapping_saved: "Mapping saved",
  mapping_profile_created: "Mapping profile created",
  mapping_profile_activated: "Mapping profile made active",
  mapping_duplicates_confirmed: "Two workers kept on one employee",
  live_sync_enabled: "Live sync turned on",
  live_sync_disabled: "Live sync turned off",
  directory_import: "Directory import",
  directory_import_requested: "Directory import started",
  directory_linked: "Import linked a QuickBooks record to its CrewFlow record",
  directory_proposal_linked: "Import question answered: linked",
  directory_proposal_created: "Import question answered: new record created",
  directory_proposal_skipped: "Import question answered: skipped",
  directory_merged: "Record the import made twice merged back",
  breaker_reset: "Circuit breaker reset",
  breaker_open: "QuickBooks calls paused (breaker opened)",
  breaker_closed: "QuickBooks calls resumed (breaker closed)",
  breaker_half_open: "Trying QuickBooks again (breaker half-open)",
  export_csv: "Unsynced timecards downloaded",
  qbo_drift_detected: "Changed in QuickBooks after sync",
};
const actionWords = (a) => ACTION_WORDS[a] || (a || "").replace(/_/g, " ");
const STATUS_WORDS = { success: "succeeded", failure: "failed" };

// [param, label, kind]: "name" fields show names (autocomplete) and send the id they stand for.
const FILTERS = [
  ["startDate", "From", "date"],
  ["endDate", "To", "date"],
  ["status", "Result", "select", [["", "any"], ["success", "succeeded"], ["failure", "failed"]]],
  ["action", "What happened", "select", [["", "anything"], ...Object.entries(ACTION_WORDS)]],
  ["workerId", "Worker", "name", "workers"],
  ["projectId", "Project", "name", "projects"],
  ["timecardId", "Timecard", "name", "timecards"],
];
const LIMIT = 25;

/** {kind: {choices: [{label, id}], byId: {id: label}}} from GET mapping/records: each label unique. */
export function nameChoices(records) {
  const out = {};
  const lists = {
    workers: (records.workers || []).map((w) => ({ id: w.id, name: w.name, extra: w.email })),
    projects: (records.projects || []).map((p) => ({ id: p.id, name: p.name })),
    timecards: (records.timecards || []).map((t) => ({
      id: t.id, name: `${t.worker} · ${t.project} · ${t.clockIn.slice(0, 10)} · ${t.hours} h` })),
  };
  for (const [kind, list] of Object.entries(lists)) {
    const count = {};
    for (const r of list) count[r.name.toLowerCase()] = (count[r.name.toLowerCase()] || 0) + 1;
    const seen = {};
    const choices = list.map((r) => {
      const key = r.name.toLowerCase();
      if (count[key] === 1) return { id: r.id, label: r.name };
      seen[key] = (seen[key] || 0) + 1;
      return { id: r.id, label: `${r.name} (${r.extra || `#${seen[key]}`})` };
    });
    out[kind] = { choices, byId: Object.fromEntries(choices.map((c) => [c.id, c.label])) };
  }
  return out;
}

/** The id a typed name stands for: an exact label, else the one record whose name it is. */
export function resolveName(choices, text) {
  const t = text.trim().toLowerCase();
  if (!t) return { id: "" };
  const exact = choices.filter((c) => c.label.toLowerCase() === t);
  if (exact.length === 1) return { id: exact[0].id };
  const starts = choices.filter((c) => c.label.toLowerCase().startsWith(t));
  if (starts.length === 1) return { id: starts[0].id };
  return { error: starts.length ? `"${text}" fits ${starts.length} records: pick one from the list.` : `Nothing is called "${text}".` };
}

function filterForm(initial, names, onApply, out) {
  const fields = FILTERS.map(([name, label, type, extra]) => {
    const id = `f-${name}`;
    let control;
    if (type === "select") {
      control = h("select", { id, name }, extra.map(([v, words]) => h("option", { value: v, selected: (initial[name] || "") === v }, words)));
    } else if (type === "name") {
      const listId = `${id}-list`;
      const kind = names[extra];
      control = [h("input", { id, name, type: "text", list: listId, autocomplete: "off", value: initial[name] ? kind.byId[initial[name]] || initial[name] : "",
        placeholder: `Type a ${label.toLowerCase()}'s name` }),
      h("datalist", { id: listId }, kind.choices.map((c) => h("option", { value: c.label })))];
    } else {
      control = h("input", { id, name, type, value: initial[name] || "" });
    }
    return h("label", { class: "field", for: id }, h("span", {}, label), control);
  });
  const form = h("form", { class: "filters", id: "audit-filters" }, fields,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Apply"),
      h("button", { type: "reset" }, "Clear")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const raw = Object.fromEntries(new FormData(form));
    const problems = [];
    for (const [name, label, type, extra] of FILTERS) {
      if (type !== "name" || !raw[name]) continue;
      if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(raw[name].trim())) continue; // an id pasted
      const r = resolveName(names[extra].choices, raw[name]);
      if (r.error) problems.push(`${label}: ${r.error}`);
      else raw[name] = r.id;
    }
    if (problems.length) {
      replace(out, message("error", problems.join(" ")));
      return;
    }
    onApply(raw);
  });
  form.addEventListener("reset", () => setTimeout(() => onApply({}), 0));
  return form;
}

function row(entry, names) {
  const worker = entry.workerId ? names.workers[entry.workerId] || "a worker no longer in CrewFlow" : "—";
  const project = entry.projectId ? names.projects[entry.projectId] || "a project no longer in CrewFlow" : "—";
  const payloads = [entry.requestPayload && ["What was sent", entry.requestPayload], entry.responsePayload && ["What QuickBooks answered", entry.responsePayload]].filter(Boolean);
  const details = h("tr", { class: "details", hidden: true },
    h("td", { colspan: "5" },
      entry.errorMessage ? message("error", entry.errorMessage) : null,
      h("dl", { class: "facts" },
        h("dt", {}, "Worker"), h("dd", { class: "worker-name" }, worker),
        h("dt", {}, "Project"), h("dd", { class: "project-name" }, project),
        h("dt", {}, "By"), h("dd", {}, entry.actor || "the integration")),
      payloads.length ? h("details", { class: "raw" }, h("summary", {}, "Details (technical)"),
        h("dl", { class: "facts" }, h("dt", {}, "Entry id"), h("dd", {}, entry.id),
          entry.jobId ? [h("dt", {}, "Job id"), h("dd", {}, entry.jobId)] : null),
        payloads.map(([t, p]) => [h("h4", {}, t), pretty(p)])) : null));
  const main = h("tr", { class: `entry ${entry.status}`, tabindex: "0", "aria-expanded": "false" },
    h("td", {}, dateTime(entry.createdAt)),
    h("td", {}, actionWords(entry.action)),
    h("td", {}, h("span", { class: `pill pill-${entry.status === "success" ? "ok" : "error"}` }, STATUS_WORDS[entry.status] || entry.status)),
    h("td", { class: "timecard-name" }, entry.timecardId ? timecardLabel(names.timecards, entry.timecardId) : "—"),
    h("td", {}, entry.qboId ? `#${entry.qboId}` : "—"));
  const toggle = () => {
    details.hidden = !details.hidden;
    main.setAttribute("aria-expanded", String(!details.hidden));
  };
  main.addEventListener("click", toggle);
  main.addEventListener("keydown", (ev) => { if (ev.key === "Enter") toggle(); });
  return [main, details];
}

async function pageNames(companyId, logs) {
  const ids = (k) => [...new Set(logs.map((l) => l[k]).filter(Boolean))];
  const [timecards, people] = await Promise.all([
    timecardNames(companyId, ids("timecardId")),
    optional(get("console/names", { companyId, workerId: ids("workerId"), projectId: ids("projectId") }), { workers: {}, projects: {} }),
  ]);
  return { timecards, workers: people.workers, projects: people.projects };
}

export async function render(root, { companyId, params }) {
  replace(root, h("h1", {}, "Audit log"));
  if (!companyId) {
    root.append(needToken());
    return;
  }
  let filters = Object.fromEntries([...params].filter(([k]) => FILTERS.some(([n]) => n === k)));
  let page = 1;
  const table = h("div", { id: "audit-table" });
  const pager = h("div", { class: "pager", id: "audit-pager" });
  const out = h("div", { class: "out", id: "audit-out" });

  const clean = (f) => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== "" && v != null));

  const load = async () => {
    replace(out);
    try {
      const res = await get("audit-log", { companyId, ...clean(filters), page, limit: LIMIT });
      const p = res.pagination;
      const names = await pageNames(companyId, res.logs);
      if (!res.logs.length) {
        replace(table, h("p", { class: "muted" }, "No entries match."));
      } else {
        replace(table, h("table", { class: "table audit" },
          h("thead", {}, h("tr", {}, ["When", "What happened", "Result", "Timecard", "QuickBooks record"].map((t) => h("th", {}, t)))),
          h("tbody", {}, res.logs.map((l) => row(l, names)))));
      }
      replace(pager,
        h("button", { id: "page-prev", disabled: p.page <= 1, onclick: () => { page -= 1; load(); } }, "← Newer"),
        h("span", { id: "page-info" }, `Page ${p.page} of ${Math.max(1, p.totalPages)} · ${p.total} entries`),
        h("button", { id: "page-next", disabled: p.page >= p.totalPages, onclick: () => { page += 1; load(); } }, "Older →"));
    } catch (err) {
      replace(table);
      replace(out, errorBox(err));
    }
  };

  const csvButton = h("button", {
    id: "audit-csv",
    onclick: async (ev) => {
      try {
        const file = await busy(ev.currentTarget, () => download("audit-log.csv", { companyId, ...clean(filters) }, "audit-log.csv"));
        replace(out, message("ok", `Downloaded ${file.name}.`));
      } catch (err) {
        replace(out, errorBox(err));
      }
    },
  }, "Download CSV");
  const fallbackButton = h("button", {
    id: "export-csv",
    onclick: async (ev) => {
      try {
        const f = clean(filters);
        const file = await busy(ev.currentTarget, () => download("export-csv",
          { companyId, startDate: f.startDate, endDate: f.endDate }, "unsynced-timecards.csv"));
        replace(out, message("ok", `Downloaded ${file.name} (timecards not yet in QuickBooks).`));
      } catch (err) {
        replace(out, errorBox(err));
      }
    },
  }, "Unsynced timecards CSV");

  const records = await optional(get("mapping/records", { companyId }), { workers: [], projects: [], timecards: [] })
    .catch(() => ({ workers: [], projects: [], timecards: [] }));
  root.append(
    panel(null, filterForm(filters, nameChoices(records), (f) => { filters = f; page = 1; load(); }, out)),
    h("div", { class: "actions" }, csvButton, fallbackButton),
    out, table, pager,
  );
  await load();
}
