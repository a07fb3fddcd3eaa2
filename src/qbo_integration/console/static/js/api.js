// The one way the console talks to the API: JSON over fetch with the bearer token kept in localStorage
// until it expires (every tab of the browser shares it). Errors in the API's format {"error": {"code",
// "message", "details"?, "requestId"}} become ApiError with a sentence an admin can read (error.words).

export const PREFIX = "/api/v1/integrations/quickbooks";
const TOKEN_KEY = "qboConsole.token";
const NO_EXPIRY_HOURS = 8; // a token without an exp claim is kept this long

export class ApiError extends Error {
  constructor({ status, code, message, details, requestId, path }) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
    this.path = path;
  }

  /** True when the server has no such route (a feature not deployed yet), not "record not found". */
  get routeMissing() {
    return (this.status === 404 || this.status === 405) && /^(Not Found|Method Not Allowed)$/.test(this.message);
  }

  get words() {
    if (this.status === 0) return `Could not reach the API (${this.message}). Is the server running?`;
    if (this.routeMissing) return "This feature is not available on this server yet.";
    if (this.status === 401) return `Your token was not accepted: ${this.message}. Paste a valid admin token above.`;
    if (this.status === 403) return `Not allowed: ${this.message}.`;
    if (this.status === 422 && Array.isArray(this.details) && this.details.length) {
      return this.details.map((d) => plainProblem(d.field, d.problem)).join(" ");
    }
    let text = this.message || `The API answered ${this.status}`;
    if (Array.isArray(this.details) && this.details.length > 1 && this.details[1].problem) {
      text += " (" + this.details.slice(1).map((d) => `${d.field}: ${d.problem}`).join("; ") + ")";
    }
    if (this.status === 503 || this.status === 502 || this.status === 504) {
      return `${/unavailable|gateway|timeout/i.test(text) ? "The service or QuickBooks is not answering right now" : text}. `
        + "Nothing was changed. Try again in a few minutes; if it keeps happening, check the dashboard's health status.";
    }
    if (this.status >= 500) text += `. Something went wrong on the server${this.requestId ? ` (reference ${this.requestId})` : ""}; try again, and report the reference if it happens again.`;
    return text;
  }
}

/** A validation problem in words: "Value error, endDate must be…" → "The end date must be…". */
function plainProblem(field, problem) {
  const words = { startDate: "the start date", endDate: "the end date", companyId: "the company", timecardId: "the timecard" };
  let text = String(problem || "is not valid").replace(/^Value error, /, "");
  for (const [k, v] of Object.entries(words)) text = text.replaceAll(k, v);
  const name = String(field || "").split(".").pop();
  if (!/^(the |a )/i.test(text) && name && name !== "body") text = `${words[name] || name}: ${text}`;
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

let expiredAt = null; // when a stored token was dropped for being out of date: the header says so

/** The stored token, or "" (none, or it expired: then it is removed and tokenExpired() says when). */
export function getToken() {
  let kept = null;
  try {
    kept = JSON.parse(localStorage.getItem(TOKEN_KEY) || "null");
  } catch { /* not ours */ }
  if (!kept || typeof kept.token !== "string") return "";
  if (kept.expiresAt && kept.expiresAt <= Date.now()) {
    localStorage.removeItem(TOKEN_KEY);
    expiredAt = kept.expiresAt;
    return "";
  }
  return kept.token;
}

export function tokenExpired() {
  return expiredAt;
}

export function setToken(token) {
  expiredAt = null;
  if (!token) {
    localStorage.removeItem(TOKEN_KEY);
    return;
  }
  const value = token.trim();
  const c = claims(value);
  const expiresAt = c && c.exp ? c.exp * 1000 : Date.now() + NO_EXPIRY_HOURS * 3600 * 1000;
  localStorage.setItem(TOKEN_KEY, JSON.stringify({ token: value, expiresAt }));
}

/** Another tab signed in or out: `onChange()` runs here too. */
export function watchToken(onChange) {
  window.addEventListener("storage", (ev) => { if (ev.key === TOKEN_KEY || ev.key === null) onChange(); });
}

/** The token's claims (not verified here: the API verifies every call). */
export function claims(token = getToken()) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      Array.from(atob(part), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
    );
    return JSON.parse(json);
  } catch {
    return null;
  }
}

export function companyId() {
  const c = claims();
  return c && c.company_id ? String(c.company_id) : "";
}

function url(path, query) {
  const full = path.startsWith("/") ? path : `${PREFIX}/${path}`;
  const u = new URL(full, window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (Array.isArray(v)) for (const item of v) u.searchParams.append(k, item);
    else if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
  }
  return u;
}

async function errorFrom(resp, path) {
  let body = null;
  try {
    body = await resp.json();
  } catch {
    /* not JSON */
  }
  const e = (body && body.error) || {};
  return new ApiError({
    status: resp.status,
    code: e.code || "http_" + resp.status,
    message: e.message || (body && body.detail) || resp.statusText || `HTTP ${resp.status}`,
    details: e.details,
    requestId: e.requestId || resp.headers.get("x-request-id"),
    path,
  });
}

/** request("GET", "health", {query: {companyId}}) → parsed JSON (or a Response with raw: true). */
export async function request(method, path, { query, body, raw = false, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url(path, query), init);
  } catch (err) {
    throw new ApiError({ status: 0, code: "network", message: String(err.message || err), path });
  }
  if (!resp.ok) throw await errorFrom(resp, path);
  if (raw) return resp;
  if (resp.status === 204) return null;
  const type = resp.headers.get("content-type") || "";
  return type.includes("json") ? resp.json() : resp.text();
}

/** A route this server may not have (an older API): `empty` instead of an error. */
export async function optional(promise, empty) {
  try {
    return await promise;
  } catch (err) {
    if (err.routeMissing) return empty;
    throw err;
  }
}

export const get = (path, query) => request("GET", path, { query });
export const post = (path, body, query) => request("POST", path, { body, query });
export const put = (path, body) => request("PUT", path, { body });
export const del = (path, body) => request("DELETE", path, { body });

/** Download a file from an authenticated GET (CSV exports) and hand it to the browser. */
export async function download(path, query, fallbackName) {
  const resp = await request("GET", path, { query, raw: true });
  const blob = await resp.blob();
  const cd = resp.headers.get("content-disposition") || "";
  const m = /filename="?([^";]+)"?/.exec(cd);
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = m ? m[1] : fallbackName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  return { name: a.download, size: blob.size };
}

/** Dev mode only: {token, companyId} for the demo company, or null when the server is not in dev mode. */
export async function devToken() {
  try {
    const resp = await fetch("/dev/token", { headers: { Accept: "application/json" } });
    return resp.ok ? await resp.json() : null;
  } catch {
    return null;
  }
}
