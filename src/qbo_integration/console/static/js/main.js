// Boot: the token bar, the hash router (#/page?query), and one module per page.
// A page module exports render(root, ctx) and may return a cleanup function (timers).

import { claims, companyId, devToken, getToken, setToken } from "./api.js";
import { h, message, replace, setZone } from "./dom.js";
import { overview } from "./names.js";
import * as audit from "./pages/audit.js";
import * as connect from "./pages/connect.js";
import * as dashboard from "./pages/dashboard.js";
import * as mapping from "./pages/mapping.js";
import * as setup from "./pages/setup.js";
import * as testmode from "./pages/testmode.js";

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

function refreshWho() {
  const who = document.getElementById("token-who");
  const c = claims();
  if (!getToken()) {
    who.textContent = "Not signed in";
    who.className = "who who-none";
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

async function route() {
  const seq = ++renderSeq;
  if (typeof cleanup === "function") cleanup();
  cleanup = null;
  const { page, params } = parseHash();
  const loader = PAGES[page];
  for (const a of document.querySelectorAll("#nav a")) {
    const active = a.dataset.page === page || (page.startsWith("connect") && a.dataset.page === "connect");
    a.classList.toggle("active", active);
    if (active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
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

async function boot() {
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
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
  window.addEventListener("hashchange", route);
  route();
  if (await devToken()) devButton.hidden = false;
}

boot();
