// Audit log: filters (dates, status, action, worker, project, timecard), pages, CSV download of the
// same filter, and the fallback CSV of unsynced timecards.

import { download, get } from "../api.js";
import { busy, dateTime, errorBox, h, message, needToken, panel, pretty, replace } from "../dom.js";

const FILTERS = [
  ["startDate", "From", "date"],
  ["endDate", "To", "date"],
  ["status", "Status", "select", ["", "success", "failure"]],
  ["action", "Action", "text", "e.g. timecard_sync"],
  ["workerId", "Worker id", "text", "CrewFlow worker UUID"],
  ["projectId", "Project id", "text", "CrewFlow project UUID"],
  ["timecardId", "Timecard id", "text", "timecard UUID"],
];
const LIMIT = 25;

function filterForm(initial, onApply) {
  const fields = FILTERS.map(([name, label, type, extra]) => {
    const id = `f-${name}`;
    const control = type === "select"
      ? h("select", { id, name }, extra.map((v) => h("option", { value: v, selected: initial[name] === v }, v || "any")))
      : h("input", { id, name, type, value: initial[name] || "", placeholder: type === "text" ? extra : null });
    return h("label", { class: "field", for: id }, h("span", {}, label), control);
  });
  const form = h("form", { class: "filters", id: "audit-filters" }, fields,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Apply"),
      h("button", { type: "reset" }, "Clear")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    onApply(Object.fromEntries(new FormData(form)));
  });
  form.addEventListener("reset", () => setTimeout(() => onApply({}), 0));
  return form;
}

function row(entry) {
  const details = h("tr", { class: "details", hidden: true },
    h("td", { colspan: "6" },
      entry.errorMessage ? message("error", entry.errorMessage) : null,
      h("dl", { class: "facts" },
        h("dt", {}, "Entry"), h("dd", {}, entry.id),
        h("dt", {}, "Worker"), h("dd", {}, entry.workerId || "—"),
        h("dt", {}, "Project"), h("dd", {}, entry.projectId || "—"),
        h("dt", {}, "Job"), h("dd", {}, entry.jobId || "—"),
        h("dt", {}, "Actor"), h("dd", {}, entry.actor || "—")),
      entry.requestPayload ? [h("h4", {}, "Request"), pretty(entry.requestPayload)] : null,
      entry.responsePayload ? [h("h4", {}, "Response"), pretty(entry.responsePayload)] : null));
  const main = h("tr", { class: `entry ${entry.status}`, tabindex: "0" },
    h("td", {}, dateTime(entry.createdAt)),
    h("td", {}, entry.action),
    h("td", {}, h("span", { class: `pill pill-${entry.status === "success" ? "ok" : "error"}` }, entry.status)),
    h("td", { class: "mono" }, entry.timecardId ? entry.timecardId.slice(0, 8) + "…" : "—"),
    h("td", { class: "mono" }, entry.qboId || "—"),
    h("td", {}, entry.errorMessage || ""));
  const toggle = () => { details.hidden = !details.hidden; };
  main.addEventListener("click", toggle);
  main.addEventListener("keydown", (ev) => { if (ev.key === "Enter") toggle(); });
  return [main, details];
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
      if (!res.logs.length) {
        replace(table, h("p", { class: "muted" }, "No entries match."));
      } else {
        replace(table, h("table", { class: "table audit" },
          h("thead", {}, h("tr", {}, ["When", "Action", "Status", "Timecard", "QBO id", "Error"].map((t) => h("th", {}, t)))),
          h("tbody", {}, res.logs.map(row))));
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

  root.append(
    panel(null, filterForm(filters, (f) => { filters = f; page = 1; load(); })),
    h("div", { class: "actions" }, csvButton, fallbackButton),
    out, table, pager,
  );
  await load();
}
