// Mapping wizard: import the QuickBooks directory, pick or create a profile (one is active), choose
// Class or ServiceItem for cost codes, match records (drag and drop or keyboard), accept suggestions,
// see sample data from both systems, set bill and pay rates, save, and test the saved mapping on a real timecard.
// A worker can be matched to a QuickBooks vendor (a subcontractor) instead of an employee: vendors are
// listed with the employees, their ids prefixed "v:" in the board's state (saved as vendorMapping).

import { get, optional, post, put } from "../api.js";
import { ago, busy, dateTime, details, errorBox, feedback, h, keepFocus, message, needToken, panel, replace } from "../dom.js";
import { previewTable } from "../preview.js";
import { loadZoneNote } from "../zones.js";
import { KINDS, VENDOR, acceptSuggestions, renderBoard, summary, unsavedCount } from "./mapping_board.js";
import { dropDraft, keepDraft, restoreDraft } from "./mapping_draft.js";
import { loadProposals, proposalsSection } from "./proposals.js";

function toState(mapping) {
  const state = { employees: new Map(), customers: new Map(), costCodes: new Map() };
  for (const e of mapping.employeeMapping || []) state.employees.set(e.crewflowWorkerId, { qboId: String(e.qboEmployeeId), source: e.source || "profile" });
  for (const v of mapping.vendorMapping || []) state.employees.set(v.crewflowWorkerId, { qboId: `${VENDOR}${v.qboVendorId}`, source: "profile" });
  for (const c of mapping.customerMapping || []) state.customers.set(c.crewflowProjectId, { qboId: String(c.qboCustomerId), source: c.source || "profile" });
  for (const c of mapping.costCodeMapping || []) {
    state.costCodes.set(c.crewflowCostCodeId, { qboId: String(c.qboServiceItemId || c.qboClassId), source: "profile" });
  }
  return state;
}

function payload(model) {
  const own = (map) => [...map.entries()].filter(([, v]) => v.source !== "import");
  const ccKey = KINDS.costCodes.qid(model);
  const m = model.mapping;
  return {
    profileId: m.profileId || undefined,
    costCodeField: model.costCodeField,
    employeeMapping: own(model.state.employees).filter(([, v]) => !v.qboId.startsWith(VENDOR))
      .map(([id, v]) => ({ crewflowWorkerId: id, qboEmployeeId: v.qboId })),
    vendorMapping: own(model.state.employees).filter(([, v]) => v.qboId.startsWith(VENDOR))
      .map(([id, v]) => ({ crewflowWorkerId: id, qboVendorId: v.qboId.slice(VENDOR.length) })),
    customerMapping: own(model.state.customers).map(([id, v]) => ({ crewflowProjectId: id, qboCustomerId: v.qboId })),
    costCodeMapping: own(model.state.costCodes).map(([id, v]) => ({ crewflowCostCodeId: id, [ccKey]: v.qboId })),
    locationMapping: (m.locationMapping || []).map((l) => ({ crewflowProjectId: l.crewflowProjectId, qboDepartmentId: l.qboDepartmentId })),
    hourlyRates: m.hourlyRates
      ? { default: m.hourlyRates.default ?? null, projects: (m.hourlyRates.projects || []).map((p) => ({ crewflowProjectId: p.crewflowProjectId, rate: p.rate })) }
      : undefined,
    costRates: m.costRates
      ? { default: m.costRates.default ?? null, workers: (m.costRates.workers || []).map((w) => ({ crewflowWorkerId: w.crewflowWorkerId, rate: w.rate })) }
      : undefined,
    mapStartEnd: m.mapStartEnd ?? true,
  };
}

async function load(companyId, profileId) {
  const [records, mapping, profiles, suggestions, validation, samples, orphans, proposals] = await Promise.all([
    get("mapping/records", { companyId }),
    get("mapping", { companyId, profileId }),
    optional(get("mapping/profiles", { companyId }), []),
    optional(get("mapping/suggestions", { companyId }), { workers: [], projects: [], costCodes: [] }),
    optional(get("mapping/validation", { companyId }), { unmapped: [], inactive: [] }),
    optional(get("mapping/samples", { companyId }), null),
    optional(get("directory/orphans", { companyId }), { orphans: [], count: 0 }),
    loadProposals(companyId),
  ]);
  // What the directory holds, counted before the vendors join the employees (the import counts them apart).
  const directoryCounts = Object.fromEntries(Object.entries(records.qbo).map(([e, l]) => [e, l.length]));
  // Subcontractors are matched on the Workers tab: the vendors join the employees there, labelled.
  records.qbo.Employee = [...(records.qbo.Employee || []), ...(records.qbo.Vendor || []).map((v) => ({
    ...v, qboId: `${VENDOR}${v.qboId}`, name: `${v.name} · Vendor (subcontractor)`, vendor: true }))];
  const qboIndex = {};
  for (const [entity, list] of Object.entries(records.qbo)) qboIndex[entity] = Object.fromEntries(list.map((q) => [q.qboId, q]));
  const required = new Set((validation.unmapped || []).map((u) => `${u.type}:${u.crewflowId}`));
  return { records, mapping, profiles, suggestions, validation, samples, orphans, proposals, qboIndex, required,
    directoryCounts,
    state: toState(mapping), original: toState(mapping), costCodeField: mapping.costCodeField || "ServiceItem", tab: "workers", dirty: false };
}

/** "Import done" in words, from the job's results: {mode, directory: {Entity: {created, updated, unchanged}},
 * users: {created, updated, matchedByEmail}, projects: {created, updated, matchedByName}, newlyOrphaned}. */
const ENTITY_WORDS = { Employee: ["employee", "employees"], Vendor: ["vendor", "vendors"],
  Customer: ["customer or job", "customers and jobs"], Item: ["product or service", "products and services"],
  Class: ["class", "classes"], Department: ["location", "locations"] };

/** "25 employees", "1 class": a count of QuickBooks records in words. */
export function entityCount(n, entity) {
  const [one, many] = ENTITY_WORDS[entity] || [entity, entity];
  return `${n} ${n === 1 ? one : many}`;
}

export function importWords(results) {
  const r = results || {};
  const n = (v) => Number(v) || 0;
  const entities = Object.entries(r.directory || {}).map(([entity, c]) => {
    const total = n(c.created) + n(c.updated) + n(c.unchanged);
    const changes = [n(c.created) && `${n(c.created)} new`, n(c.updated) && `${n(c.updated)} updated`].filter(Boolean);
    return `${entityCount(total, entity)}${changes.length ? ` (${changes.join(", ")})` : ""}`;
  });
  const crew = [];
  const u = r.users || {};
  const p = r.projects || {};
  if (n(u.created) || n(u.updated) || n(u.matchedByEmail)) {
    crew.push(`workers ${n(u.created)} created, ${n(u.updated)} updated, ${n(u.matchedByEmail)} linked by email`);
  }
  if (n(p.created) || n(p.updated) || n(p.matchedByName)) {
    crew.push(`projects ${n(p.created)} created, ${n(p.updated)} updated, ${n(p.matchedByName)} linked by name`);
  }
  const orphaned = (r.newlyOrphaned || []).length;
  return "Import done: "
    + (entities.length ? `${entities.join(", ")} QuickBooks record(s) read` : "no QuickBooks changes")
    + (crew.length ? `; CrewFlow ${crew.join("; ")}` : "")
    + (orphaned ? `; ${orphaned} record(s) CrewFlow uses went inactive or disappeared` : "")
    + ".";
}

// `out` is created once by render(): a finished import reloads (and redraws) the whole wizard.
function importPanel(companyId, model, out, reload) {
  // Only service items can carry hours, so fewer items are listed to match than the import reads.
  const words = { Item: (n) => `${n} service item${n === 1 ? "" : "s"}` };
  const counts = Object.entries(model.directoryCounts).filter(([, n]) => n)
    .map(([e, n]) => (words[e] ? words[e](n) : entityCount(n, e)));
  const poll = async (jobId) => {
    for (let i = 0; i < 120; i++) {
      const job = await get(`directory/import/${jobId}`, { companyId });
      if (job.status === "completed" || job.status === "failed") return job;
      replace(out, message("info", `Import ${job.status}…`));
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error("The import is taking long; check the dashboard later.");
  };
  const button = h("button", {
    id: "import-button",
    onclick: async (ev) => {
      try {
        replace(out, message("info", "Import queued…"));
        const job = await busy(ev.currentTarget, async () => poll((await post("directory/import", { companyId })).jobId));
        if (job.status === "failed") {
          replace(out, message("error", `Import failed: ${(job.errors[0] && (job.errors[0].message || job.errors[0])) || "see the audit log"}`));
          return;
        }
        replace(out, message("ok", importWords(job.results)));
        await reload();
      } catch (err) {
        replace(out, errorBox(err));
      }
    },
  }, counts.length ? "Import again" : "Import from QuickBooks");
  return panel("1. QuickBooks directory",
    h("p", { id: "directory-counts" }, counts.length ? `Ready to match from QuickBooks: ${counts.join(", ")}.` : "Nothing imported yet."),
    model.orphans.count ? message("warn", `${model.orphans.count} QuickBooks record(s) went inactive or disappeared while CrewFlow still uses them: `
      + model.orphans.orphans.map((o) => o.name).join(", ")) : null,
    h("div", { class: "actions" }, button), out);
}

function profilePanel(companyId, model, reload, rerender) {
  const out = h("div", { class: "out", id: "profile-out" });
  const current = model.mapping.profileId;
  const select = h("select", { id: "profile-select", "aria-label": "Mapping profile" },
    model.profiles.length ? null : h("option", { value: "" }, "Default (not saved yet)"),
    model.profiles.map((p) => h("option", { value: p.profileId, selected: p.profileId === current },
      `${p.profileName}${p.active ? " (active)" : ""} · rev ${p.revision}`)));
  select.addEventListener("change", () => reload(select.value));
  const active = model.profiles.find((p) => p.profileId === current);
  const name = h("input", { id: "new-profile-name", placeholder: "New profile name", maxlength: "100" });
  const radios = ["ServiceItem", "Class"].map((v) => h("label", { class: "radio" },
    h("input", { type: "radio", name: "costCodeField", value: v, checked: model.costCodeField === v,
      onchange: () => {
        model.costCodeField = v;
        model.state.costCodes.clear();
        model.dirty = true;
        replace(out, message("info", `Cost codes now map to ${v === "Class" ? "classes" : "service items"}: match them again.`));
        rerender();
      } }), v === "Class" ? " Class" : " Service item"));
  return panel("2. Profile",
    h("div", { class: "profile-bar" }, select,
      current && active && !active.active ? h("button", {
        id: "activate-profile",
        onclick: async (ev) => {
          try {
            await busy(ev.currentTarget, () => post(`mapping/profiles/${current}/activate`, { companyId }));
            reload(current);
          } catch (err) { replace(out, errorBox(err)); }
        },
      }, "Make active") : null,
      name,
      h("button", {
        id: "create-profile",
        onclick: async (ev) => {
          try {
            const p = await busy(ev.currentTarget, () => post("mapping/profiles", {
              companyId, profileName: name.value, costCodeField: model.costCodeField, copyFrom: current || undefined }));
            reload(p.profileId);
          } catch (err) { replace(out, errorBox(err)); }
        },
      }, current ? "Copy as new profile" : "Create profile")),
    h("p", { id: "cost-code-field" }, "Cost codes map to: ", radios),
    out);
}

/** Bill rates (HourlyRate: billable time needs one) per project or by default, and pay rates (CostRate:
 * labour cost in QBO's job-costing reports) per worker or by default. Edits go out with "Save mapping". */
function ratesPanel(model, changed) {
  const m = model.mapping;
  m.hourlyRates = m.hourlyRates || { default: null, projects: [] };
  m.costRates = m.costRates || { default: null, workers: [] };
  const input = (id, label, value, set) => h("input", {
    id, type: "number", min: "0", max: "100000", step: "0.01", value: value ?? "", "aria-label": label,
    placeholder: "default", class: "rate",
    onchange: (ev) => { set(ev.currentTarget.value === "" ? null : ev.currentTarget.value); model.ratesDirty = true; changed(); },
  });
  const perRow = (list, key, id, value) => {
    const i = list.findIndex((r) => r[key] === id);
    if (value === null) { if (i >= 0) list.splice(i, 1); } else if (i >= 0) list[i].rate = value; else list.push({ [key]: id, rate: value });
  };
  const rateOf = (list, key, id) => (list.find((r) => r[key] === id) || {}).rate;
  return panel("Rates",
    h("p", {}, "Billable time needs a bill rate: a project's own, else the default. The pay rate shows labour cost in QuickBooks' job-costing reports."),
    h("div", { class: "actions" },
      h("label", {}, "Default bill rate ", input("default-bill-rate", "Default bill rate", m.hourlyRates.default, (v) => { m.hourlyRates.default = v; })),
      h("label", {}, "Default pay rate ", input("default-pay-rate", "Default pay rate", m.costRates.default, (v) => { m.costRates.default = v; }))),
    details("Bill rate per project",
      h("table", { class: "table", id: "project-rates" }, h("tbody", {}, model.records.projects.map((p) => h("tr", {},
        h("td", {}, p.name), h("td", {}, input(`bill-rate-${p.id}`, `Bill rate for ${p.name}`, rateOf(m.hourlyRates.projects, "crewflowProjectId", p.id),
          (v) => perRow(m.hourlyRates.projects, "crewflowProjectId", p.id, v)))))))),
    details("Pay rate per worker",
      h("table", { class: "table", id: "worker-rates" }, h("tbody", {}, model.records.workers.map((w) => h("tr", {},
        h("td", {}, w.name), h("td", {}, input(`pay-rate-${w.id}`, `Pay rate for ${w.name}`, rateOf(m.costRates.workers, "crewflowWorkerId", w.id),
          (v) => perRow(m.costRates.workers, "crewflowWorkerId", w.id, v)))))))));
}

const SAMPLE_FIELDS = { Employee: "Employee", Customer: "Customer or job", ServiceItem: "Service item", Class: "Class",
  Location: "Location", StartTime: "Start time", EndTime: "End time", TxnDate: "Date", BreakMinutes: "Break",
  BillableStatus: "Billable", Description: "Description" };
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** A CrewFlow sample in words: instants in the company's zone. */
function crewflowSample(v, field) {
  if (v === null || v === undefined || v === "") return "—";
  if (typeof v === "object") return v.name || v.code || "—";
  if (typeof v === "boolean") return v ? "Yes" : "No";
  if (field === "Break") return `${v} min`;
  if (typeof v === "string" && ISO_INSTANT.test(v)) {
    const when = dateTime(v);
    return field === "Clock in (date)" ? when.replace(/,? \d{1,2}:\d{2}.*$/, "") : when;
  }
  return String(v);
}

/** A QuickBooks sample in words: times as QuickBooks holds them (with their offset), dates as dates. */
function qboSample(v, field) {
  if (v === null || v === undefined || v === "") return "—";
  if (typeof v === "object") return v.name || v.code || "—";
  if (field === "BillableStatus") return v === "Billable" ? "Billable" : "Not billable";
  if (field === "BreakMinutes") return `${v} min`;
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v)) {
    return new Date(`${v}T12:00:00Z`).toLocaleDateString("en-US", { timeZone: "UTC", year: "numeric", month: "short", day: "numeric" });
  }
  const m = typeof v === "string" && /^\d{4}-\d{2}-\d{2}T(\d{2}):(\d{2}).*([+-]\d{2}:\d{2})$/.exec(v);
  if (m) return `${Number(m[1]) % 12 || 12}:${m[2]} ${Number(m[1]) < 12 ? "AM" : "PM"} (UTC${m[3].replace("-", "−")})`;
  return typeof v === "string" && ISO_INSTANT.test(v) ? dateTime(v) : String(v);
}

function samplesPanel(model) {
  if (!model.samples) return panel("4. Sample data", message("info", "Sample data is not available on this server yet."));
  return panel("4. Sample data from both systems",
    h("p", { class: "muted" }, "A few real records from each side, to check what goes where. Times are in your company's time zone."),
    h("div", { class: "table-wrap" }, h("table", { class: "table fixed-fields", id: "samples" },
      h("thead", {}, h("tr", {}, ["In CrewFlow", "", "In QuickBooks", "CrewFlow samples", "QuickBooks samples"].map((t) => h("th", {}, t)))),
      h("tbody", {}, model.samples.fields.map((f) => h("tr", { class: f.required ? "required" : "" },
        h("td", {}, f.crewflowField, f.required ? h("span", { class: "req" }, " required") : null),
        h("td", {}, "→"),
        h("td", { title: `QuickBooks field ${f.qboField}` }, SAMPLE_FIELDS[f.qboField] || f.qboField),
        h("td", {}, (f.crewflow || []).map((v) => crewflowSample(v, f.crewflowField)).join("; ") || "—"),
        h("td", {}, (f.qbo || []).map((v) => qboSample(v, f.qboField)).join("; ") || "—")))))));
}

function testPanel(companyId, model) {
  const out = h("div", { class: "out", id: "test-mapping-out" });
  const cards = model.records.timecards || [];
  const select = h("select", { id: "test-timecard", "aria-label": "Timecard to test" },
    cards.map((t) => h("option", { value: t.id },
      `${t.clockIn.slice(0, 10)} · ${t.worker} · ${t.project} · ${t.hours} h${t.syncStatus !== "not_synced" ? ` · ${t.syncStatus}` : ""}`)));
  const run = async (ev) => {
    try {
      const res = await busy(ev.currentTarget, () => post("test-mapping", { companyId, timecardId: select.value }));
      feedback(out,
        res.valid ? message("ok", "This timecard maps cleanly: this is what would be sent. Next: a dry run in Test mode.")
          : message("error", `${res.errors.length} problem(s) to fix before this timecard can sync:`),
        res.errors.length ? h("ul", { class: "errors-list", id: "test-mapping-errors" }, res.errors.map((e) =>
          h("li", {}, `${e.message} `, h("em", {}, `Fix: ${e.fix}`), " ", h("small", { class: "muted" }, `(${e.field})`)))) : null,
        res.preview ? previewTable(res.preview, model.qboIndex, { id: "test-mapping-preview" }) : null);
    } catch (err) {
      replace(out, errorBox(err));
    }
  };
  return panel("5. Test on a real timecard",
    cards.length ? h("div", { class: "actions" }, select, h("button", { id: "test-mapping", class: "primary", onclick: run }, "Test mapping"))
      : message("info", "No approved timecards yet to test with."),
    model.dirty ? message("warn", "You have unsaved changes: the test uses the saved, active profile. Save first.") : null,
    out);
}

export async function render(root, { companyId, params }) {
  replace(root, h("h1", {}, "Map CrewFlow to QuickBooks"));
  if (!companyId) {
    root.append(needToken());
    return;
  }
  let model;
  const body = h("div", { id: "mapping-body" });
  const zoneBox = h("div", { id: "zone-box" });
  const draftOut = h("div", { class: "out", id: "draft-out" }); // at the top: a reload or Back lands there
  root.append(zoneBox, draftOut, body);
  loadZoneNote(companyId).then((note) => { if (note && root.isConnected) replace(zoneBox, note); });
  // Outcomes show where the click was: Accept's beside it, Save's in the Save bar (always on screen).
  const saveOut = h("div", { class: "out", id: "save-out" });
  const acceptOut = h("div", { class: "out", id: "accept-out" });
  const importOut = h("div", { class: "out", id: "import-out" });
  const reload = async (profileId) => {
    try {
      const tab = model ? model.tab : "workers";
      model = await load(companyId, profileId || undefined);
      model.tab = tab;
      const restored = restoreDraft(companyId, model);
      keepFocus(draw);
      replace(draftOut);
      if (restored) {
        const n = unsavedCount(model);
        feedback(draftOut, message("warn", h("span", { id: "draft-restored" },
          `${n} unsaved change(s) from ${restored.savedAt ? ago(new Date(restored.savedAt).toISOString()) : "earlier"} `
          + "were kept for you (not saved yet): Save mapping to keep them, or ",
          h("button", {
            type: "button", class: "link", id: "discard-draft",
            onclick: () => {
              dropDraft(companyId, model.mapping.profileId);
              reload(model.mapping.profileId).then(() => feedback(draftOut,
                message("info", "Unsaved changes discarded: this is the saved mapping.")));
            },
          }, "discard them"), ".")));
      }
    } catch (err) {
      replace(body, errorBox(err));
    }
  };
  const boardRoot = h("div", { id: "board" });
  const summaryLine = h("div", { id: "mapping-summary" });
  const unsaved = h("span", { id: "unsaved-count", role: "status" });
  const saveBar = h("div", { class: "savebar", id: "savebar" }, unsaved);
  const testRoot = h("div");
  const drawSummary = () => {
    const c = summary(model);
    const missing = c.workers.missing + c.projects.missing + c.costCodes.missing;
    const n = unsavedCount(model);
    // "Every record is mapped" in green only once it is saved: beside unsaved changes it would pass for done.
    replace(summaryLine, missing
      ? message("warn", `${missing} required mapping(s) missing: highlighted below (approved timecards are waiting on them).`)
      : n ? message("info", `Every record with approved timecards is matched, but ${n} change(s) are not saved yet: `
        + "Save mapping (at the bottom of the screen) to keep them.")
        : message("ok", "Every record with approved timecards is mapped."));
    saveBar.classList.toggle("dirty", n > 0);
    replace(unsaved, n ? `${n} unsaved change(s)` : "No unsaved changes");
    keepDraft(companyId, model);
  };
  const changed = () => {
    model.dirty = true;
    model.rerender();
  };
  const drawBoard = () => {
    renderBoard(boardRoot, model, changed);
    drawSummary();
    replace(testRoot, testPanel(companyId, model));
  };
  const save = async (ev, confirmDuplicates = false) => {
    const button = ev.currentTarget;
    try {
      const res = await busy(button, () => put("mapping", { companyId, mapping: payload(model), confirmDuplicates }));
      dropDraft(companyId, model.mapping.profileId);
      replace(acceptOut);
      replace(draftOut);
      await reload(res.profileId);
      feedback(saveOut, message("ok", h("span", {},
        `Saved (revision ${res.revision})${res.requeued ? `; ${res.requeued} failed timecard(s) queued again` : ""}. Next: `,
        h("a", { href: "#/test" }, "run a dry run in Test mode"), ".")),
      ...(res.warnings || []).map((w) => message("warn", w)));
    } catch (err) {
      if (err.code !== "duplicate_employee") {
        feedback(saveOut, errorBox(err));
        return;
      }
      feedback(saveOut, h("div", { class: "msg msg-warn", id: "duplicate-warning" },
        h("p", {}, "Not saved: two workers would put their hours on one QuickBooks employee."),
        h("ul", {}, (err.details || []).map((d) => h("li", {}, `${d.employeeName}: ${d.workers.map((w) => w.name).join(" and ")}`))),
        h("p", {}, "Match one of them to someone else, or keep it on purpose (this is recorded in the audit log)."),
        h("button", { id: "confirm-duplicates", type: "button", onclick: (e2) => save(e2, true) }, "Save anyway")));
    }
  };
  const draw = () => {
    model.rerender = drawBoard;
    body.dataset.draws = String(Number(body.dataset.draws || 0) + 1); // tests wait for a reload's redraw
    const bulkAt = model.suggestions.bulkAcceptAt || 0.9;
    replace(body,
      // the import's questions first; an answer reloads the records unless the board has unsaved matches
      proposalsSection(companyId, model.proposals, model.records,
        () => (unsavedCount(model) ? false : reload(model.mapping.profileId))),
      importPanel(companyId, model, importOut, () => reload(model.mapping.profileId)),
      profilePanel(companyId, model, reload, drawBoard),
      panel("3. Match records",
        summaryLine,
        h("div", { class: "actions" },
          h("button", {
            id: "accept-suggestions",
            onclick: () => {
              const { accepted, skipped } = acceptSuggestions(model, bulkAt);
              const pct = `${Math.round(bulkAt * 100)}%`;
              if (accepted) changed();
              feedback(acceptOut, message(accepted ? "ok" : "info", accepted
                ? `Accepted ${accepted} suggestion(s) of ${pct} or more (not saved yet). Next: review the matches below, `
                  + "then Save mapping at the bottom of the screen."
                : `No suggestion of ${pct} or more left to accept: match the remaining rows by hand.`),
              skipped.length ? message("warn", `Skipped ${skipped.length} because their QuickBooks record is already matched to someone else: ${skipped.join(", ")}. Match them by hand.`) : null);
            },
          }, `Accept suggestions ≥ ${Math.round(bulkAt * 100)}%`),
          acceptOut),
        boardRoot,
        (replace(saveBar, unsaved, h("button", { id: "save-mapping", class: "primary", onclick: save }, "Save mapping"),
          h("a", { class: "button", href: "#/test" }, "Next: test mode →"), saveOut), saveBar)),
      ratesPanel(model, () => { model.dirty = true; drawSummary(); }),
      samplesPanel(model),
      testRoot);
    drawBoard();
  };
  await reload(params.get("profileId"));
}
