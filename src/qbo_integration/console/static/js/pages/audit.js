// Audit log: filters (dates, status, action, worker, project, timecard), pages, CSV download of the
// same filter, and the fallback CSV of unsynced timecards. Rows say what happened and who did it in
// words; an opened row says what changed in words, with ids and payloads behind "Technical details".

import { claims, download, get, optional } from "../api.js";
import { busy, dateTime, errorBox, h, message, needToken, panel, pretty, replace, table, technical } from "../dom.js";
import { timecardLink, timecardNames } from "../names.js";
import { previewTable } from "../preview.js";

export const ACTION_WORDS = {
  sync_timecard: "Timecard sent to QuickBooks",
  update_timecard: "Timecard updated in QuickBooks",
  delete_timecard: "Timecard removed from QuickBooks",
  connect: "QuickBooks connected",
  disconnect: "QuickBooks disconnected",
  test_connection: "Connection tested",
  connection_lost: "QuickBooks connection lost",
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
  breaker_reset: "Sending resumed by hand",
  breaker_open: "QuickBooks not answering: sending paused",
  breaker_closed: "QuickBooks answering again: sending resumed",
  breaker_half_open: "Trying QuickBooks again",
  export_csv: "Unsynced timecards downloaded",
  qbo_drift_detected: "Changed in QuickBooks after sync",
  drift_pushed: "CrewFlow's version sent again",
  drift_accepted: "QuickBooks' version kept",
  drift_dismissed: "Change in QuickBooks dismissed",
  reconcile_missing: "Missing in QuickBooks (reconciliation)",
  reconcile_duplicate: "Duplicate in QuickBooks (reconciliation)",
  reconcile_orphan: "In QuickBooks, not in CrewFlow (reconciliation)",
  reconcile_drift: "Changed in QuickBooks (reconciliation)",
};
// The same events when they went wrong: "Timecard sent to QuickBooks · failed" reads as a contradiction.
const FAILURE_WORDS = {
  sync_timecard: "Timecard not sent to QuickBooks",
  update_timecard: "Timecard not updated in QuickBooks",
  delete_timecard: "Timecard not removed from QuickBooks",
  connect: "QuickBooks connection did not complete",
  disconnect: "Disconnect not confirmed by QuickBooks",
  test_connection: "Connection test failed",
  dry_run: "Dry run found problems",
  directory_import: "Directory import failed",
};

/** What happened, in words (an action this console has no words for: its name without underscores). */
export function actionWords(action, status) {
  if (status === "failure" && FAILURE_WORDS[action]) return FAILURE_WORDS[action];
  const words = ACTION_WORDS[action] || (action || "").replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Who did it: you, another admin, or the integration on its own (no ids). */
export function whoWords(actor, me) {
  if (!actor || actor === "system" || actor.startsWith("system:")) return "CrewFlow integration (automatic)";
  const sub = actor.replace(/^user:/, "");
  return me && sub === me ? "You" : "Another admin";
}
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

/** {kind: {choices: [{label, id}], byId: {id: label}}} from GET mapping/records (workers, projects) and
 * GET console/timecards (timecards, found by name as the field is typed): each label unique. */
export function nameChoices(records, timecards = []) {
  const out = {};
  const lists = {
    workers: (records.workers || []).map((w) => ({ id: w.id, name: w.name, extra: w.email })),
    projects: (records.projects || []).map((p) => ({ id: p.id, name: p.name })),
    timecards: timecards.map((t) => ({ id: t.id, name: t.label })),
  };
  for (const [kind, list] of Object.entries(lists)) out[kind] = uniqueChoices(list);
  return out;
}

function uniqueChoices(list) {
  const count = {};
  for (const r of list) count[r.name.toLowerCase()] = (count[r.name.toLowerCase()] || 0) + 1;
  const seen = {};
  const choices = list.map((r) => {
    const key = r.name.toLowerCase();
    if (count[key] === 1) return { id: r.id, label: r.name };
    seen[key] = (seen[key] || 0) + 1;
    return { id: r.id, label: `${r.name} (${r.extra || `#${seen[key]}`})` };
  });
  return { choices, byId: Object.fromEntries(choices.map((c) => [c.id, c.label])) };
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The timecard field's list follows what is typed (a company has more timecards than a list can hold). */
function timecardSearch(companyId, input, list, names) {
  let seq = 0;
  let timer = null;
  const search = async (text) => {
    const mine = ++seq;
    const res = await optional(get("console/timecards", { companyId, q: text }), { timecards: [] }).catch(() => ({ timecards: [] }));
    if (mine !== seq) return names.timecards;
    names.timecards = uniqueChoices(res.timecards.map((t) => ({ id: t.id, name: t.label })));
    replace(list, names.timecards.choices.map((c) => h("option", { value: c.label })));
    return names.timecards;
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => search(input.value), 250);
  });
  return search;
}

function filterForm(companyId, initial, names, onApply, onProblem) {
  let searchTimecards = null;
  const fields = FILTERS.map(([name, label, type, extra]) => {
    const id = `f-${name}`;
    let control;
    if (type === "select") {
      control = h("select", { id, name }, extra.map(([v, words]) => h("option", { value: v, selected: (initial[name] || "") === v }, words)));
    } else if (type === "name") {
      const listId = `${id}-list`;
      const kind = names[extra];
      const input = h("input", { id, name, type: "text", list: listId, autocomplete: "off", value: initial[name] ? kind.byId[initial[name]] || initial[name] : "",
        placeholder: `Type a ${label.toLowerCase()}'s name` });
      const list = h("datalist", { id: listId }, kind.choices.map((c) => h("option", { value: c.label })));
      if (extra === "timecards") searchTimecards = timecardSearch(companyId, input, list, names);
      control = [input, list];
    } else {
      control = h("input", { id, name, type, value: initial[name] || "" });
    }
    return h("label", { class: "field", for: id }, h("span", {}, label), control);
  });
  const form = h("form", { class: "filters", id: "audit-filters" }, fields,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Apply"),
      h("button", { type: "reset" }, "Clear")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const raw = Object.fromEntries(new FormData(form));
    const problems = [];
    for (const [name, label, type, extra] of FILTERS) {
      if (type !== "name" || !raw[name]) continue;
      if (UUID.test(raw[name].trim())) continue; // an id pasted
      let r = resolveName(names[extra].choices, raw[name]);
      if (r.error && extra === "timecards" && searchTimecards) r = resolveName((await searchTimecards(raw[name])).choices, raw[name]);
      if (r.error) problems.push(`${label}: ${r.error}`);
      else raw[name] = r.id;
    }
    if (problems.length) {
      onProblem(problems.join(" "));
      return;
    }
    onApply(raw);
  });
  form.addEventListener("reset", () => setTimeout(() => onApply({}), 0));
  return form;
}

/** What an entry's payload says, in words; null when there is nothing to say beyond the row. */
function payloadWords(entry) {
  const req = entry.requestPayload || {};
  const res = entry.responsePayload || {};
  switch (entry.action) {
    case "mapping_duplicates_confirmed":
      return h("ul", { class: "plain-details" }, (req.shared || []).map((d) => h("li", {},
        `QuickBooks employee ${d.employeeName} gets the hours of ${(d.workers || []).map((w) => w.name).join(" and ")}: `
        + "kept on purpose when the mapping was saved.")));
    case "mapping_saved":
    case "mapping_profile_created":
    case "mapping_profile_activated":
      return h("p", {}, `Profile “${req.profileName || "Default"}”${req.revision ? `, revision ${req.revision}` : ""}`
        + `${req.counts ? `: ${Object.entries(req.counts).map(([k, n]) => `${n} ${MAPPING_COUNTS[k] || k}`).join(", ")}` : ""}.`);
    case "dry_run":
      return h("p", {}, `Timecards from ${req.startDate} to ${req.endDate}: ${res.valid ?? "?"} of ${res.checked ?? "?"} ready.`);
    case "connect":
    case "test_connection":
      return res.companyName ? h("p", {}, `QuickBooks company: ${res.companyName}.`) : null;
    case "disconnect":
      return h("p", {}, res.revoked ? "QuickBooks confirmed the access was revoked." : "QuickBooks did not confirm the revoke.");
    default: {
      const sent = ["sync_timecard", "update_timecard"].includes(entry.action) && (entry.responsePayload || entry.requestPayload);
      return sent && (sent.TxnDate || sent.EmployeeRef || sent.VendorRef) ? previewTable(sent, null, { raw: false }) : null;
    }
  }
}
const MAPPING_COUNTS = { employeeMapping: "workers", vendorMapping: "subcontractors", customerMapping: "projects",
  costCodeMapping: "cost codes", locationMapping: "locations" };

function row(entry, names, me) {
  const worker = entry.workerId ? names.workers[entry.workerId] || "a worker no longer in CrewFlow" : "—";
  const project = entry.projectId ? names.projects[entry.projectId] || "a project no longer in CrewFlow" : "—";
  const payloads = [entry.requestPayload && ["What was sent", entry.requestPayload], entry.responsePayload && ["What QuickBooks answered", entry.responsePayload]].filter(Boolean);
  const details = h("tr", { class: "details", hidden: true },
    h("td", { colspan: "6" },
      entry.errorMessage ? message("error", entry.errorMessage) : null,
      h("dl", { class: "facts" },
        h("dt", {}, "Worker"), h("dd", { class: "worker-name" }, worker),
        h("dt", {}, "Project"), h("dd", { class: "project-name" }, project),
        h("dt", {}, "By"), h("dd", {}, whoWords(entry.actor, me)),
        entry.sync ? [h("dt", {}, "The timecard now"), h("dd", { class: "timecard-now" }, entry.sync.sentence, " ",
          h("a", { class: "tc-link", href: `#/timecard?id=${entry.timecardId}` }, "Open it"))] : null),
      payloadWords(entry),
      technical(
        h("dl", { class: "facts" }, h("dt", {}, "Entry id"), h("dd", {}, entry.id),
          h("dt", {}, "Action"), h("dd", {}, entry.action),
          entry.actor ? [h("dt", {}, "Actor"), h("dd", {}, entry.actor)] : null,
          entry.jobId ? [h("dt", {}, "Job id"), h("dd", {}, entry.jobId)] : null),
        payloads.map(([t, p]) => [h("h4", {}, t), pretty(p)]))));
  const main = h("tr", { class: `entry ${entry.status}`, tabindex: "0", "aria-expanded": "false" },
    h("td", {}, dateTime(entry.createdAt)),
    h("td", { class: "what" }, actionWords(entry.action, entry.status)),
    h("td", {}, h("span", { class: `pill pill-${entry.status === "success" ? "ok" : "error"}` }, STATUS_WORDS[entry.status] || entry.status)),
    h("td", { class: "who" }, whoWords(entry.actor, me)),
    h("td", { class: "timecard-name" }, entry.timecardId ? timecardLink(names.timecards, entry.timecardId) : "—"),
    h("td", {}, entry.qboId ? `#${entry.qboId}` : "—"));
  const toggle = () => {
    details.hidden = !details.hidden;
    main.setAttribute("aria-expanded", String(!details.hidden));
  };
  main.addEventListener("click", (ev) => { if (!ev.target.closest("details")) toggle(); });
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
  const me = (claims() || {}).sub;
  const tableBox = h("div", { id: "audit-table" });
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
        replace(tableBox, h("p", { class: "muted" }, "No entries match."));
      } else {
        replace(tableBox, table({ class: "audit" }, ["When", "What happened", "Result", "Who", "Timecard", "QuickBooks record"],
          res.logs.map((l) => row(l, names, me))));
      }
      replace(pager,
        h("button", { id: "page-prev", disabled: p.page <= 1, onclick: () => { page -= 1; load(); } }, "← Newer"),
        h("span", { id: "page-info" }, `Page ${p.page} of ${Math.max(1, p.totalPages)} · ${p.total} entries`),
        h("button", { id: "page-next", disabled: p.page >= p.totalPages, onclick: () => { page += 1; load(); } }, "Older →"));
    } catch (err) {
      replace(tableBox);
      replace(pager);
      replace(out, errorBox(err));
    }
  };
  // A filter that names nothing shows no results: the earlier filter's rows would pass for its answer.
  const problem = (words) => {
    replace(tableBox);
    replace(pager);
    replace(out, message("error", words));
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

  const [records, found] = await Promise.all([
    optional(get("mapping/records", { companyId }), { workers: [], projects: [] }).catch(() => ({ workers: [], projects: [] })),
    optional(get("console/timecards", { companyId }), { timecards: [] }).catch(() => ({ timecards: [] })),
  ]);
  const names = nameChoices(records, found.timecards);
  if (filters.timecardId && !names.timecards.byId[filters.timecardId]) {
    Object.assign(names.timecards.byId, Object.fromEntries(Object.entries(await timecardNames(companyId, [filters.timecardId]))
      .map(([id, t]) => [id, t.label])));
  }
  root.append(
    panel(null, filterForm(companyId, filters, names, (f) => { filters = f; page = 1; load(); }, problem)),
    h("div", { class: "actions" }, csvButton, fallbackButton),
    out, tableBox, pager,
  );
  await load();
}
