// When CrewFlow's and QuickBooks' companies keep different clocks, QuickBooks shows every clock time in its
// own zone (a 7:15 clock-in reads 6:15 there). The mapping page and the dashboard say so, with a sample.

import { get, optional } from "./api.js";
import { h, message } from "./dom.js";

/** "Mountain Time" for "America/Denver" (the zone id when the browser has no name for it). */
export function zoneName(zone, at = new Date()) {
  for (const style of ["longGeneric", "long"]) {
    try {
      const part = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: style })
        .formatToParts(at).find((p) => p.type === "timeZoneName");
      if (part) return part.value;
    } catch { /* an older browser or an unknown zone */ }
  }
  return zone;
}

function clockIn(iso, zone) {
  return new Date(iso).toLocaleTimeString("en-US", { timeZone: zone, hour: "numeric", minute: "2-digit" });
}

/** The note (a message with id zone-note), or null when the zones agree or QuickBooks' is not known. */
export function zoneNote(zones) {
  if (!zones || !zones.quickbooks || !zones.crewflow || zones.quickbooks === zones.crewflow) return null;
  const at = zones.sample ? new Date(zones.sample.clockIn) : new Date();
  const cf = zoneName(zones.crewflow, at);
  const qb = zoneName(zones.quickbooks, at);
  const sample = zones.sample
    ? [" For example ", h("strong", {}, `${zones.sample.worker}'s clock-in at ${clockIn(zones.sample.clockIn, zones.crewflow)}`),
      " in CrewFlow shows as ", h("strong", { id: "zone-sample-qbo" }, clockIn(zones.sample.clockIn, zones.quickbooks)),
      " in QuickBooks."]
    : null;
  const note = message("info", h("span", {},
    h("strong", {}, "Two time zones. "), "CrewFlow uses ", h("span", { title: zones.crewflow }, cf),
    "; QuickBooks uses ", h("span", { title: zones.quickbooks }, qb), " and shows clock times in its own zone.", sample,
    " Dates and hours are the same in both. To make the clocks agree, change the time zone of either company "
    + "(in QuickBooks: Settings → Account and settings → Advanced)."));
  note.id = "zone-note";
  note.classList.add("zone-note");
  note.removeAttribute("role"); // shown with the page, not announced as news
  return note;
}

export async function loadZoneNote(companyId) {
  try {
    return zoneNote(await optional(get("console/zones", { companyId }), null));
  } catch {
    return null; // a hint, never an error of its own
  }
}
