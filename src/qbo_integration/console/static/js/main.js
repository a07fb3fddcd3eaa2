// Boot: the token bar, the hash router (#/page?query), and one module per page.
// A page module exports render(root, ctx) and may return a cleanup function (timers).
// Signing in: paste a token, "Use dev token", or open the console from a link whose fragment carries one
// (#token=<jwt>, how `qbo-integration dev` and CrewFlow hand it over: a fragment never reaches a server).
// The token is kept until it expires and shared by every tab of the browser.

import { claims, companyId, devToken, getToken, setToken, tokenExpired, watchToken } from "./api.js";
import { h, message, replace, setZone } from "./dom.js";
import { overview } from "./names.js";
import * as audit from "./pages/audit.js";
import * as connect from "./pages/connect.js";
import * as dashboard from "./pages/dashboard.js";
import * as mapping from "./pages/mapping.js";
import * as setup from "./pages/setup.js";
import * as testmode from "./pages/testmode.js";
import * as timecard from "./pages/timecard.js";

// Imported up front (a few kB): the first render starts before the page's load event, with no
// "Loading…" gap while a page module is fetched.
const PAGES = {
  setup: () => setup,
  connect: () => connect,
  connected: () => connect,
  "connect-failed": () => connect,
  reconnect: () => connect,
  mapping: () => mapping,
  test: () => testmode,
  dashboard: () => dashboard,
  audit: () => audit,
  timecard: () => timecard,
  timecards: () => timecard,
};
const DEFAULT_PAGE = "setup";

let cleanup = null;
let renderSeq = 0;

export function parseHash(hash = window.location.hash) {
  const raw = hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const page = path.split("/")[0] || DEFAULT_PAGE;
  return { page, params: new URLSearchParams(query) };
}

function showBanner(content) {
  const banner = document.getElementById("banner");
  if (!content) {
    banner.hidden = true;
    banner.replaceChildren();
    return;
  }
  replace(banner, content);
  banner.hidden = false;
}

const PAGE_NAMES = { setup: "Setup", connect: "Connect", mapping: "Mapping", test: "Test mode", dashboard: "Dashboard",
  audit: "Audit log", timecards: "Timecards", timecard: "Timecards" };

function refreshWho() {
  const who = document.getElementById("token-who");
  const c = claims();
  const topbar = document.getElementById("topbar");
  topbar.classList.toggle("has-token", Boolean(getToken()));
  topbar.classList.toggle("signed-in", Boolean(getToken() && company && company.id === companyId()));
  if (!getToken()) {
    const expired = tokenExpired();
    who.textContent = expired ? "Your sign-in expired: sign in again" : "Not signed in";
    who.className = expired ? "who who-bad" : "who who-none";
  } else if (!c) {
    who.textContent = "Token is not a JWT";
    who.className = "who who-bad";
  } else {
    const expired = c.exp && c.exp * 1000 < Date.now();
    const name = company && company.id === companyId() ? company.name : "your company";
    who.textContent = `${c.role || "?"} · ${name}${expired ? " · token expired: paste a new one" : ""}`;
    who.className = expired ? "who who-bad" : "who";
  }
}

let company = null;
let companyReady = Promise.resolve(); // pages render after the company (its time zone) is known

/** The signed-in company's name and time zone (Core's company row), before any page renders. */
async function loadCompany() {
  const id = companyId();
  company = null;
  if (id) {
    try {
      company = (await overview(id)).company;
    } catch { /* a bad token: the page says so */ }
  }
  setZone(company ? company.timezone : undefined);
  refreshWho();
}

function closeMenu() {
  document.getElementById("topbar").classList.remove("open", "switching");
  document.getElementById("menu-toggle").setAttribute("aria-expanded", "false");
}

async function route() {
  const seq = ++renderSeq;
  closeMenu();
  if (typeof cleanup === "function") cleanup();
  cleanup = null;
  const { page, params } = parseHash();
  const loader = PAGES[page];
  for (const a of document.querySelectorAll("#nav a")) {
    const active = a.dataset.page === page || (page.startsWith("connect") && a.dataset.page === "connect")
      || (page === "timecard" && a.dataset.page === "timecards");
    a.classList.toggle("active", active);
    if (active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const here = PAGE_NAMES[page.startsWith("connect") || page === "reconnect" ? "connect" : page];
  document.getElementById("menu-toggle").textContent = here ? `☰ ${here}` : "☰ Menu";
  const view = document.getElementById("view");
  await companyReady;
  if (seq !== renderSeq) return; // a newer navigation took over while the company loaded
  view.dataset.page = page;
  if (!loader) {
    replace(view, message("error", `There is no page "${page}".`), h("p", {}, h("a", { href: "#/setup" }, "Go to setup")));
    return;
  }
  replace(view, h("p", { class: "loading" }, "Loading…"));
  try {
    const mod = await loader();
    if (seq !== renderSeq) return;
    view.replaceChildren();
    cleanup = await mod.render(view, { page, params, companyId: companyId(), navigate });
  } catch (err) {
    if (seq !== renderSeq) return;
    replace(view, message("error", err));
    console.error(err);
  }
}

export function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

/** A sign-in link (#token=<jwt>[&page=<page>]): keep the token, and take it out of the address bar and history. */
function signInFromLink() {
  const m = /^#token=([^&]+)(?:&page=([a-z-]+))?$/.exec(window.location.hash);
  if (!m) return false;
  const token = decodeURIComponent(m[1]);
  if (claims(token)) setToken(token);
  window.history.replaceState(null, "", `${window.location.pathname}${window.location.search}#/${m[2] || "setup"}`);
  return true;
}

function signedInAgain() {
  refreshWho();
  companyReady = loadCompany();
  route();
}

async function boot() {
  signInFromLink();
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
  const topbar = document.getElementById("topbar");
  const toggle = document.getElementById("menu-toggle");
  toggle.addEventListener("click", () => {
    const open = !topbar.classList.contains("open");
    topbar.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
  });
  document.getElementById("token-switch").addEventListener("click", () => {
    topbar.classList.add("switching");
    input.focus();
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = input.value.trim();
    if (!value) {
      showBanner(message("error", "Paste a token first."));
      return;
    }
    if (!claims(value)) {
      showBanner(message("error", "That does not look like a bearer token (a JWT has three parts separated by dots)."));
      return;
    }
    setToken(value);
    input.value = "";
    showBanner(null);
    refreshWho();
    companyReady = loadCompany();
    route();
  });
  document.getElementById("token-clear").addEventListener("click", () => {
    setToken("");
    company = null;
    refreshWho();
    route();
  });
  const devButton = document.getElementById("dev-token");
  devButton.addEventListener("click", async () => {
    const dev = await devToken();
    if (!dev) {
      showBanner(message("error", "The server did not hand out a dev token (it is not in dev mode)."));
      return;
    }
    setToken(dev.token);
    showBanner(null);
    refreshWho();
    companyReady = loadCompany();
    route();
  });
  refreshWho();
  companyReady = loadCompany();
  window.addEventListener("hashchange", () => { if (signInFromLink()) signedInAgain(); else route(); });
  watchToken(signedInAgain); // signed in or out in another tab
  // Back to a page kept in the browser's back-forward cache: draw it from the current state, not as it was left.
  window.addEventListener("pageshow", (ev) => { if (ev.persisted) route(); });
  route();
  if (await devToken()) devButton.hidden = false;
}

boot();
