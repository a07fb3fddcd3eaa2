// A QuickBooks TimeActivity (what a dry run or a test would send, or what was sent) as a table in words,
// with the exact JSON behind "Technical details". Record names come from the payload's refs or from
// `names` ({Employee: {id: record}, ...}: the mapping wizard's imported directory).

import { h, pretty, technical } from "./dom.js";

const REFS = [
  ["EmployeeRef", "Employee", "Who worked (QuickBooks employee)"],
  ["VendorRef", "Vendor", "Who worked (QuickBooks vendor, a subcontractor)"],
  ["CustomerRef", "Customer", "Customer or job"],
  ["ItemRef", "Item", "Service item"],
  ["ClassRef", "Class", "Class"],
  ["DepartmentRef", "Department", "Location"],
];

function refWords(ref, names, entity) {
  if (!ref || ref.value === undefined) return null;
  const rec = ((names || {})[entity] || {})[String(ref.value)];
  const name = ref.name || (rec && rec.name);
  return name ? `${name} (#${ref.value})` : `QuickBooks record #${ref.value}`;
}

/** "7:15 AM" from "2026-03-02T07:15:00-07:00": the clock time as written, with its offset. */
function clockWords(iso) {
  const m = /T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/.exec(iso || "");
  if (!m) return iso;
  const hour = Number(m[1]);
  const clock = `${hour % 12 || 12}:${m[2]} ${hour < 12 ? "AM" : "PM"}`;
  return m[3] && m[3] !== "Z" ? `${clock} (UTC${m[3].replace("-", "−")})` : clock;
}

function dayWords(day) {
  const d = new Date(`${day}T12:00:00Z`);
  return Number.isNaN(d.getTime()) ? day
    : d.toLocaleDateString("en-US", { timeZone: "UTC", weekday: "short", year: "numeric", month: "short", day: "numeric" });
}

const money = (v) => `$${Number(v).toFixed(2)} an hour`;
const span = (hours, minutes) => [hours ? `${hours} h` : "", minutes ? `${minutes} min` : ""].filter(Boolean).join(" ") || "0 min";

/** [label, words] rows for a TimeActivity payload. */
export function previewRows(p, names) {
  const rows = [];
  if (p.TxnDate) rows.push(["Date", dayWords(p.TxnDate)]);
  for (const [key, entity, label] of REFS) {
    const words = refWords(p[key], names, entity);
    if (words) rows.push([label, words]);
  }
  if (p.StartTime) rows.push(["Clock in", clockWords(p.StartTime)]);
  if (p.EndTime) rows.push(["Clock out", clockWords(p.EndTime)]);
  if (p.BreakHours || p.BreakMinutes) rows.push(["Break", span(p.BreakHours, p.BreakMinutes)]);
  if (p.Hours !== undefined || p.Minutes !== undefined) rows.push(["Time worked", span(p.Hours, p.Minutes)]);
  if (p.BillableStatus) {
    rows.push(["Billable", p.BillableStatus === "Billable"
      ? `Yes${p.HourlyRate !== undefined ? `, at ${money(p.HourlyRate)}` : ""}` : "No"]);
  }
  if (p.CostRate !== undefined) rows.push(["Pay rate (job costing)", money(p.CostRate)]);
  if (p.Description) rows.push(["Description", p.Description]);
  return rows;
}

/** The table, then (unless raw is false: the caller shows it) the JSON behind "Technical details". */
export function previewTable(p, names, { id, raw = true } = {}) {
  return h("div", { class: "preview", id },
    h("table", { class: "table preview-table" },
      h("tbody", {}, previewRows(p, names).map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v))))),
    raw ? technical(h("p", { class: "muted" }, "Exactly what is sent to QuickBooks:"), pretty(p)) : null);
}
