// Names instead of ids: the company (header) and timecards as "worker · project · date · hours".

import { get, optional } from "./api.js";
import { h } from "./dom.js";

const CHUNK = 200; // what GET console/names takes per kind

/** {timecardId: {label, worker, project, date, hours}} for the given ids (unknown ids are absent). */
export async function timecardNames(companyId, ids) {
  const unique = [...new Set(ids.filter(Boolean))];
  const out = {};
  for (let i = 0; i < unique.length; i += CHUNK) {
    const res = await optional(get("console/names", { companyId, timecardId: unique.slice(i, i + CHUNK) }), { timecards: {} });
    Object.assign(out, res.timecards);
  }
  return out;
}

/** The label of a timecard, or a short form of its id when it is not known (deleted in CrewFlow). */
export function timecardLabel(names, id) {
  if (!id) return "—";
  return names[id] ? names[id].label : `Timecard ${id.slice(0, 8)} (no longer in CrewFlow)`;
}

export async function overview(companyId) {
  return optional(get("console/overview", { companyId }), { company: null, recentlySynced: [] });
}

/** The timecard's name as a link to its own page (its state now, what happens next, its story). */
export function timecardLink(names, id, attrs = {}) {
  if (!id) return "—";
  return h("a", { href: `#/timecard?id=${id}`, class: "tc-link", ...attrs }, timecardLabel(names, id));
}
