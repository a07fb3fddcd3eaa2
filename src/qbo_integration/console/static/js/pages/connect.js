// Connect in three steps: (1) connect, (2) authorize at QuickBooks (the provider's consent page),
// (3) confirmed: the QuickBooks company name and a test-connection result. Also: disconnect.
// The OAuth callback sends the browser to #/connected?realmId=… or #/connect-failed?reason=….
// #/reconnect is where the API's /reconnect (Intuit's Reconnect URL, the expiry alerts' link) sends a
// browser that has no token yet: once signed in, one click starts the flow for the token's company.

import { del, get, post } from "../api.js";
import { busy, dateTime, errorBox, h, message, needToken, panel, replace } from "../dom.js";

const REASONS = {
  access_denied: "The connection was not approved at QuickBooks (you chose Deny).",
  provider_error: "QuickBooks refused the connection.",
  bad_callback: "QuickBooks came back without an authorization code or company id.",
  realm_in_use: "This QuickBooks company is already connected to another CrewFlow company: disconnect it there first.",
  other_realm_connected: "This CrewFlow company is already connected to a different QuickBooks company: disconnect first.",
  other_realm: "You chose a different QuickBooks company from the one this CrewFlow company's timecards were sent to. " +
    "Nothing was changed. Connect the same QuickBooks company again, or switch: the old company's sync records and " +
    "mapping are set aside, and timecards go to the new company as new entries once you map them and run a dry run.",
  state_unreadable: "This connection link can no longer be completed.",
  missing_state: "The connection link was incomplete.",
  invalid_state: "The connection link is not valid.",
  state_used: "This connection link was already used.",
  state_expired: "The connection link expired (they last a few minutes).",
  state_foreign: "This connection was started by another user or company.",
  state_not_bound: "This QuickBooks authorization was not started in this browser (or it took too long): connect again from here.",
  exchange_failed: "QuickBooks refused the authorization code (expired or already used).",
  test_failed: "Connected, but the first test call to QuickBooks failed.",
};

const EXPIRY_WARN_DAYS = 30; // as the dashboard: Reconnect is offered from here, not beside a fresh connection

/** The three steps; `current` is the step in progress (4: all done). `failed` marks step 2 as not approved. */
function stepper(current, { failed = false } = {}) {
  const steps = ["Start", "Approve at QuickBooks", "Connected"];
  return h(
    "ol",
    { class: "stepper", id: "stepper", "aria-label": "Connection steps" },
    steps.map((label, i) => {
      const n = i + 1;
      const didFail = failed && n === 2;
      const state = didFail ? "failed" : n < current ? "done" : n === current ? "current" : "todo";
      return h("li", { class: `step step-${state}`, "aria-current": n === current ? "step" : null, dataset: { state } },
        h("span", { class: "step-n" }, didFail ? "✗" : n < current ? "✓" : String(n)),
        didFail ? `${label}: not approved` : label);
    }),
  );
}

async function loadConnection(companyId) {
  return get("connection", { companyId });
}

function statusWords(conn) {
  return {
    never_connected: "Not connected yet",
    connected: "Connected",
    disconnected: "Disconnected",
    lost: "Connection lost — reconnect",
  }[conn.status] || conn.status;
}

async function startConnect(companyId, out, button, path = "connect", extra = {}) {
  replace(out);
  try {
    const query = path === "reconnect" ? { format: "json" } : { companyId, format: "json", ...extra };
    const { authorizeUrl } = await busy(button, () => get(path, query));
    replace(out, message("info", "Step 2: taking you to QuickBooks to approve the connection…"));
    // Back from QuickBooks' page lands on a fresh step 1, not on this page's earlier outcome.
    window.history.replaceState(null, "", `${window.location.pathname}${window.location.search}#/${path}`);
    window.location.assign(authorizeUrl);
  } catch (err) {
    replace(out, errorBox(err));
  }
}

function testResult(result) {
  if (result.connected) {
    return message("ok", `Test connection passed: QuickBooks answered for “${result.companyName}”.`);
  }
  const why = result.error || "";
  if (!why || /unavailable|timed? ?out|gateway|50\d|connect/i.test(why)) {
    return message("error", "Test connection failed: QuickBooks is not answering right now (it may be down for maintenance). "
      + "Nothing was changed; try again in a few minutes. Timecards wait and are sent when it is back.");
  }
  return message("error", `Test connection failed: ${why}`);
}

function disconnectBlock(companyId, rerender) {
  const out = h("div", { class: "out" });
  const confirmRow = h("div", { class: "confirm", hidden: true },
    h("span", {}, "Disconnect QuickBooks? Live sync stops; mappings and history are kept. "),
    h("button", {
      class: "danger", id: "disconnect-confirm",
      onclick: async (ev) => {
        try {
          const res = await busy(ev.currentTarget, () => del("disconnect", { companyId }));
          replace(out, message(res.revoked ? "ok" : "warn", res.revoked
            ? "Disconnected; QuickBooks confirmed the tokens were revoked."
            : "Disconnected here, but QuickBooks did not confirm the revoke."));
          setTimeout(rerender, 600);
        } catch (err) {
          replace(out, errorBox(err));
        }
      },
    }, "Yes, disconnect"),
    h("button", { onclick: () => { confirmRow.hidden = true; } }, "Cancel"),
  );
  return h("div", {},
    h("button", { class: "danger-outline", id: "disconnect", onclick: () => { confirmRow.hidden = false; } }, "Disconnect"),
    confirmRow, out);
}

function connectedView(root, companyId, conn, { justConnected, realmId }, rerender) {
  const testOut = h("div", { id: "test-result", class: "out" });
  const testButton = h("button", {
    id: "test-connection",
    onclick: async (ev) => {
      replace(testOut, h("p", { class: "loading" }, "Testing…"));
      // The "Last test" line always tells the same story as the result below it.
      const lastTest = root.querySelector("#last-test");
      try {
        const result = await busy(ev.currentTarget, () => post("test-connection", { companyId }));
        replace(testOut, testResult(result));
        if (lastTest) lastTest.textContent = `${dateTime(new Date().toISOString())} — ${result.connected ? "passed" : "failed"}`;
      } catch (err) {
        replace(testOut, errorBox(err));
        if (lastTest) lastTest.textContent = `${dateTime(new Date().toISOString())} — failed`;
      }
    },
  }, "Test connection");
  replace(root,
    h("h1", {}, "Connect QuickBooks"),
    stepper(4),
    panel(justConnected ? "Step 3: connected" : "Connected",
      h("dl", { class: "facts" },
        h("dt", {}, "QuickBooks company"), h("dd", { id: "qbo-company" }, conn.companyName || "—"),
        h("dt", {}, "QuickBooks company id"), h("dd", { id: "realm-id" }, conn.realmId || realmId || "—"),
        h("dt", {}, "Connected"), h("dd", {}, dateTime(conn.changedAt)),
        h("dt", {}, "Last test"), h("dd", { id: "last-test" }, conn.lastTestAt
          ? `${dateTime(conn.lastTestAt)} — ${conn.lastTestOk ? "passed" : "failed"}` : "never"),
        h("dt", {}, "Live sync"), h("dd", {}, conn.syncEnabled ? "on" : "off (enable it in Test mode)"),
        conn.refreshTokenExpiresAt ? [h("dt", {}, "Connection expires"), h("dd", { id: "connection-expires" },
          dateTime(conn.refreshTokenExpiresAt),
          Date.parse(conn.refreshTokenExpiresAt) - Date.now() <= EXPIRY_WARN_DAYS * 86400000
            ? [" ", h("a", { href: "#/reconnect" }, "Reconnect")] : null)] : null,
      ),
      h("div", { class: "actions" }, testButton,
        h("a", { class: "button primary", href: "#/mapping" }, "Next: map your records →")),
      testOut,
    ),
    panel("Disconnect", disconnectBlock(companyId, rerender)),
  );
  if (justConnected) testButton.click();
}

function reconnectView(root) {
  const out = h("div", { class: "out", id: "connect-out" });
  const button = h("button", {
    class: "primary", id: "reconnect-button", onclick: (ev) => startConnect("", out, ev.currentTarget, "reconnect"),
  }, "Reconnect to QuickBooks");
  replace(root,
    h("h1", {}, "Reconnect QuickBooks"),
    stepper(1),
    panel("Step 1: reconnect",
      h("p", {}, "QuickBooks asks you to approve the connection again (it ends connections 5 years after they "
        + "were approved, or after 100 days unused). Mappings and history are kept."),
      h("div", { class: "actions" }, button),
      out,
    ),
  );
}

export async function render(root, { page, params, companyId }) {
  if (!companyId) {
    replace(root, h("h1", {}, page === "reconnect" ? "Reconnect QuickBooks" : "Connect QuickBooks"), needToken());
    return;
  }
  if (page === "reconnect") {
    reconnectView(root);
    return;
  }
  const rerender = () => render(root, { page: "connect", params: new URLSearchParams(), companyId });
  let conn;
  try {
    conn = await loadConnection(companyId);
  } catch (err) {
    replace(root, h("h1", {}, "Connect QuickBooks"), errorBox(err));
    return;
  }
  if (conn.status === "connected") {
    connectedView(root, companyId, conn, { justConnected: page === "connected", realmId: params.get("realmId") },
      rerender);
    return;
  }
  const out = h("div", { class: "out", id: "connect-out" });
  const failed = page === "connect-failed";
  const reason = params.get("reason");
  const connectButton = h("button", {
    class: "primary", id: "connect-button", onclick: (ev) => startConnect(companyId, out, ev.currentTarget),
  }, failed ? "Try again" : "Connect to QuickBooks");
  replace(root,
    h("h1", {}, "Connect QuickBooks"),
    stepper(failed ? 2 : 1, { failed }),
    failed ? message("error", `QuickBooks is not connected: ${REASONS[reason] || reason || "the connection did not complete"}`) : null,
    panel("Step 1: connect",
      h("p", {}, "Status: ", h("strong", { id: "connection-status" }, statusWords(conn)),
        conn.reason ? ` (${conn.reason})` : ""),
      h("p", {}, "You will be sent to QuickBooks to choose your company and approve access; ",
        "you come back here when done."),
      h("div", { class: "actions" }, connectButton,
        reason === "other_realm" ? h("button", {
          id: "switch-company-button",
          onclick: (ev) => startConnect(companyId, out, ev.currentTarget, "connect", { switchCompany: "true" }),
        }, "Switch QuickBooks company") : null),
      out,
    ),
  );
}
