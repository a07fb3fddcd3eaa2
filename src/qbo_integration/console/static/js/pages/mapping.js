// Mapping wizard: import the QuickBooks directory, pick or create a profile (one is active), choose
// Class or ServiceItem for cost codes, match records (drag and drop or keyboard), accept suggestions,
// see sample data from both systems, set bill and pay rates, save, and test the saved mapping on a real timecard.
// A worker can be matched to a QuickBooks vendor (a subcontractor) instead of an employee: vendors are
// listed with the employees, their ids prefixed "v:" in the board's state (saved as vendorMapping).

import { get, optional, post, put } from "../api.js";
import { busy, details, errorBox, h, message, needToken, panel, pretty, replace } from "../dom.js";
import { KINDS, VENDOR, acceptSuggestions, renderBoard, summary, unsavedCount } from "./mapping_board.js";
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
  // Subcontractors are matched on the Workers tab: the vendors join the employees there, labelled.
  records.qbo.Employee = [...(records.qbo.Employee || []), ...(records.qbo.Vendor || []).map((v) => ({
    ...v, qboId: `${VENDOR}${v.qboId}`, name: `${v.name} · Vendor (subcontractor)`, vendor: true }))];
  const qboIndex = {};
  for (const [entity, list] of Object.entries(records.qbo)) qboIndex[entity] = Object.fromEntries(list.map((q) => [q.qboId, q]));
  const required = new Set((validation.unmapped || []).map((u) => `${u.type}:${u.crewflowId}`));
  return { records, mapping, profiles, suggestions, validation, samples, orphans, proposals, qboIndex, required,
    state: toState(mapping), original: toState(mapping), costCodeField: mapping.costCodeField || "ServiceItem", tab: "workers", dirty: false };
}

/** "Import done" in words, from the job's results: {mode, directory: {Entity: {created, updated, unchanged}},
 * users: {created, updated, matchedByEmail}, projects: {created, updated, matchedByName}, newlyOrphaned}. */
export function importWords(results) {
  const r = results || {};
  const n = (v) => Number(v) || 0;
  const entities = Object.entries(r.directory || {}).map(([entity, c]) => {
    const total = n(c.created) + n(c.updated) + n(c.unchanged);
    const changes = [n(c.created) && `${n(c.created)} new`, n(c.updated) && `${n(c.updated)} updated`].filter(Boolean);
    return `${total} ${entity}${changes.length ? ` (${changes.join(", ")})` : ""}`;
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
  const counts = Object.entries(model.records.qbo).filter(([, l]) => l.length).map(([e, l]) => `${l.length} ${e}`);
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
    h("p", { id: "directory-counts" }, counts.length ? `Imported: ${counts.join(", ")}.` : "Nothing imported yet."),
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

function samplesPanel(model) {
  if (!model.samples) return panel("4. Sample data", message("info", "Sample data is not available on this server yet."));
  const show = (v) => (v && typeof v === "object" ? v.name || v.code || JSON.stringify(v) : v === null || v === undefined ? "—" : String(v));
  return panel("4. Sample data from both systems",
    h("table", { class: "table fixed-fields", id: "samples" },
      h("thead", {}, h("tr", {}, ["CrewFlow field", "", "QuickBooks field", "CrewFlow samples", "QuickBooks samples"].map((t) => h("th", {}, t)))),
      h("tbody", {}, model.samples.fields.map((f) => h("tr", { class: f.required ? "required" : "" },
        h("td", {}, f.crewflowField, f.required ? h("span", { class: "req" }, " required") : null),
        h("td", {}, "→"),
        h("td", {}, f.qboField),
        h("td", {}, (f.crewflow || []).map(show).join(", ") || "—"),
        h("td", {}, (f.qbo || []).map(show).join(", ") || "—"))))));
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
      replace(out,
        res.valid ? message("ok", "This timecard maps cleanly: this is exactly what would be sent.")
          : message("error", `${res.errors.length} problem(s) to fix before this timecard can sync:`),
        res.errors.length ? h("ul", { class: "errors-list", id: "test-mapping-errors" }, res.errors.map((e) =>
          h("li", {}, h("strong", {}, e.field), `: ${e.message} `, h("em", {}, `Fix: ${e.fix}`)))) : null,
        res.preview ? details("Details: exactly what would be sent to QuickBooks", pretty(res.preview)) : null);
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
  root.append(body);
  const reload = async (profileId) => {
    try {
      const tab = model ? model.tab : "workers";
      model = await load(companyId, profileId || undefined);
      model.tab = tab;
      draw();
    } catch (err) {
      replace(body, errorBox(err));
    }
  };
  const saveOut = h("div", { class: "out", id: "save-out" });
  const importOut = h("div", { class: "out", id: "import-out" });
  const boardRoot = h("div", { id: "board" });
  const summaryLine = h("div", { id: "mapping-summary" });
  const unsaved = h("span", { id: "unsaved-count", role: "status" });
  const saveBar = h("div", { class: "savebar", id: "savebar" }, unsaved);
  const testRoot = h("div");
  const drawSummary = () => {
    const c = summary(model);
    const missing = c.workers.missing + c.projects.missing + c.costCodes.missing;
    replace(summaryLine, missing
      ? message("warn", `${missing} required mapping(s) missing: highlighted below (approved timecards are waiting on them).`)
      : message("ok", "Every record with approved timecards is mapped."));
    const n = unsavedCount(model);
    saveBar.classList.toggle("dirty", n > 0);
    replace(unsaved, n ? `${n} unsaved change(s)` : "No unsaved changes");
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
    try {
      const res = await busy(ev.currentTarget, () => put("mapping", { companyId, mapping: payload(model), confirmDuplicates }));
      await reload(res.profileId);
      replace(saveOut, message("ok", `Saved (revision ${res.revision})${res.requeued ? `; ${res.requeued} failed timecard(s) queued again` : ""}.`),
        (res.warnings || []).map((w) => message("warn", w)));
    } catch (err) {
      if (err.code !== "duplicate_employee") {
        replace(saveOut, errorBox(err));
        return;
      }
      replace(saveOut, h("div", { class: "msg msg-warn", role: "alert", id: "duplicate-warning" },
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
              replace(saveOut, message("info", accepted ? `Accepted ${accepted} suggestion(s) of ${pct} or more: review, then save.` : `No suggestion of ${pct} or more left to accept.`),
                skipped.length ? message("warn", `Skipped ${skipped.length} because their QuickBooks record is already matched to someone else: ${skipped.join(", ")}. Match them by hand.`) : null);
              if (accepted) changed();
            },
          }, `Accept suggestions ≥ ${Math.round(bulkAt * 100)}%`)),
        boardRoot,
        saveOut,
        (replace(saveBar, unsaved, h("button", { id: "save-mapping", class: "primary", onclick: save }, "Save mapping"),
          h("a", { class: "button", href: "#/test" }, "Next: test mode →")), saveBar)),
      ratesPanel(model, () => { model.dirty = true; drawSummary(); }),
      samplesPanel(model),
      testRoot);
    drawBoard();
  };
  await reload(params.get("profileId"));
}
