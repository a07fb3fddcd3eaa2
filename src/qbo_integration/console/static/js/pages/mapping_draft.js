// Unsaved mapping changes kept in this browser (localStorage, per company and profile) until they are
// saved or discarded: a reload, a nav link or Back loses nothing. A draft holds only what differs from
// the saved mapping, so it goes back onto whatever is saved when the page opens again.

import { KINDS } from "./mapping_board.js";

const PREFIX = "qboConsole.mappingDraft";
const key = (companyId, profileId) => `${PREFIX}.${companyId}.${profileId || "new"}`;

/** What differs from the saved mapping: {maps: {mapKey: {rowId: qboId | null}}, costCodeField?, rates?}. */
function diff(model) {
  const maps = {};
  let n = 0;
  for (const k of Object.values(KINDS)) {
    const now = model.state[k.mapKey];
    const was = model.original[k.mapKey];
    for (const id of new Set([...now.keys(), ...was.keys()])) {
      const a = (now.get(id) || {}).qboId;
      if (a !== (was.get(id) || {}).qboId) {
        (maps[k.mapKey] = maps[k.mapKey] || {})[id] = a ?? null;
        n += 1;
      }
    }
  }
  const out = { maps };
  if (model.costCodeField !== (model.mapping.costCodeField || "ServiceItem")) out.costCodeField = model.costCodeField;
  if (model.ratesDirty) out.rates = { hourlyRates: model.mapping.hourlyRates, costRates: model.mapping.costRates };
  return n || out.costCodeField || out.rates ? out : null;
}

/** Keep the model's unsaved changes (or forget them when there are none). */
export function keepDraft(companyId, model) {
  const d = diff(model);
  try {
    if (d) localStorage.setItem(key(companyId, model.mapping.profileId), JSON.stringify({ ...d, savedAt: Date.now() }));
    else localStorage.removeItem(key(companyId, model.mapping.profileId));
  } catch { /* storage full or off: the page still works, without the safety net */ }
}

export function dropDraft(companyId, profileId) {
  localStorage.removeItem(key(companyId, profileId));
}

/** Put a kept draft back onto a freshly loaded model. Returns {changes, savedAt} or null when there was none. */
export function restoreDraft(companyId, model) {
  let d = null;
  try {
    d = JSON.parse(localStorage.getItem(key(companyId, model.mapping.profileId)) || "null");
  } catch { /* not ours */ }
  if (!d || typeof d !== "object") return null;
  if (d.costCodeField && d.costCodeField !== model.costCodeField) {
    model.costCodeField = d.costCodeField;
    model.state.costCodes.clear();
  }
  for (const [mapKey, rows] of Object.entries(d.maps || {})) {
    const map = model.state[mapKey];
    if (!map) continue;
    for (const [id, qboId] of Object.entries(rows)) {
      if (qboId === null) map.delete(id);
      else map.set(id, { qboId: String(qboId), source: "profile" });
    }
  }
  if (d.rates) {
    Object.assign(model.mapping, d.rates);
    model.ratesDirty = true;
  }
  model.dirty = true;
  return { savedAt: d.savedAt || null };
}
