// Health dashboard in plain words: how it stands (a headline and its reasons), what was sent, what is
// waiting and what needs your attention, recent activity, recent problems (click one: its message and
// timecard; a timecard refused because QuickBooks' books are closed offers its two ways out: the CSV, or a
// retry once the books reopen), timecards that could not be sent (try again), Sync Now with its progress
// next to it. Drift: synced time entries changed or deleted inside QuickBooks (send ours again / keep
// QuickBooks' / dismiss each) and Run reconciliation. The connection's expiry, with Reconnect inside 30
// days. The technical view (rate limit, circuit breaker, dead letters, job kinds, the health rules' own
// words) is behind "Technical details". Refreshes every REFRESH_SECONDS (30 s; ?refresh=N overrides).

import { download, get, optional, post } from "../api.js";
import { REFRESH_SECONDS } from "../config.js";
import { ago, busy, clock, dateTime, hourMinute, errorBox, feedback, h, keepFocus, message, needToken, panel, pretty, replace, table,
  technical } from "../dom.js";
import { overview, timecardLabel, timecardLink, timecardNames } from "../names.js";
import { loadZoneNote } from "../zones.js";
import { actionWords } from "./audit.js";

const STATUS_WORDS = { healthy: "All good", degraded: "Needs your attention", failed: "Not sending to QuickBooks" };

// The health rules' reasons (health/service.py), in an office admin's words; the originals stay in the
// technical details. A reason not listed here is shown as the service wrote it.
const REASON_WORDS = [
  [/^(\d+) timecard\(s\) dead-lettered/, (m) => `${m[1]} timecard(s) could not be sent after several tries: `
    + "see “Needs your attention” below."],
  [/^(\d+) timecard\(s\) need a mapping or data fix/, (m) => `${m[1]} timecard(s) need a fix in the mapping or `
    + "in CrewFlow before they can be sent: see “Recent problems”."],
  [/circuit breaker open/, () => "QuickBooks is not answering: sending is paused and starts again by itself."],
  [/^(\d+) consecutive failed QuickBooks call/, (m) => `QuickBooks refused the last ${m[1]} request(s): `
    + "sending is tried again."],
  [/^Rate limit usage at/, () => "QuickBooks is busy with this company's requests: sending slows down for a while."],
  [/^(\d+) TimeActivit(y was|ies were) changed or deleted inside QuickBooks/, (m) => `${m[1]} time `
    + `entr${m[2] === "y was" ? "y was" : "ies were"} changed or deleted inside QuickBooks after they were sent: `
    + "see “Changed in QuickBooks” below."],
];

export function reasonWords(reason) {
  for (const [re, words] of REASON_WORDS) {
    const m = re.exec(reason);
    if (m) return words(m);
  }
  return reason;
}

function tile(id, label, value, extra) {
  return h("div", { class: "tile", id }, h("div", { class: "tile-label" }, label),
    h("div", { class: "tile-value" }, value), extra ? h("div", { class: "tile-extra" }, extra) : null);
}

function statusBlock(hl) {
  const conn = hl.connection || {};
  return h("div", { class: `status status-${hl.status}`, id: "health-status", dataset: { status: hl.status } },
    h("span", { class: "dot", "aria-hidden": "true" }),
    h("strong", {}, STATUS_WORDS[hl.status] || hl.status),
    h("span", { class: "status-sub" },
      conn.status === "connected" ? ` · connected to ${conn.companyName || "QuickBooks"}` : " · QuickBooks not connected",
      ` · live sync ${conn.liveSyncEnabled ? "on" : "off"}`),
    hl.reasons && hl.reasons.length
      ? h("ul", { class: "reasons" }, hl.reasons.map((r) => h("li", {}, reasonWords(r)))) : null,
  );
}

/** How many need a person: the same rows "Needs your attention" lists (health's needsAttention). */
export function attentionCount(hl) {
  return hl.needsAttention ?? (hl.deadLettered ?? 0) + (hl.failedTimecards ?? 0);
}

// A tile's "see below": the panel comes into view and takes the focus (a keyboard user reads on from there).
const scrollTo = (id) => () => {
  const el = document.getElementById(id);
  if (!el) return;
  (el.closest("section") || el).scrollIntoView(); // with its panel's heading
  el.focus({ preventScroll: true });
};

function tiles(hl) {
  const attention = attentionCount(hl);
  const waiting = hl.waitingTimecards ?? hl.pendingTimecards;
  const soonest = (hl.waiting || []).find((w) => !w.needsYou);
  return h("div", { class: "tiles" },
    tile("last-sync", "Last sent", ago(hl.lastSync), hl.lastSync ? dateTime(hl.lastSync) : "nothing sent yet"),
    tile("synced-today", "Sent today", String(hl.syncedToday), "timecards in QuickBooks"),
    tile("pending", "Waiting", String(waiting),
      waiting ? h("button", { class: "link", onclick: scrollTo("waits") }, soonest && soonest.until
        ? `the next by ${hourMinute(soonest.until)}: why below` : "why: see below") : "nothing to send"),
    tile("attention-count", "Needs your attention", String(attention),
      attention ? h("button", { class: "link", onclick: scrollTo("attention") }, "see below") : "nothing"),
    tile("drift-count", "Changed in QuickBooks", String(hl.openDriftFindings ?? 0),
      hl.openDriftFindings
        ? h("button", { class: "link", id: "drift-review", onclick: () => document.getElementById("drift")?.scrollIntoView() },
          "review below")
        : "none to review"),
    expiryTile(hl.connection || {}),
  );
}

/** What the waiting timecards wait for and until when, one line per reason (health's `waiting`, in its words). */
export function waitLines(waits, attrs = {}) {
  return h("ul", { class: "wait-lines", ...attrs }, waits.map((w) => h("li", { dataset: { reason: w.reason } }, w.message)));
}

function waitsBlock(hl) {
  const waits = (hl.waiting || []).filter((w) => !w.needsYou);
  if (!waits.length) {
    return h("div", { id: "waits", tabindex: "-1" }, h("p", { class: "muted" }, "Nothing is waiting: every approved timecard that can "
      + "go is in QuickBooks."));
  }
  return h("div", { id: "waits", tabindex: "-1" }, waitLines(waits));
}

/** What only the technically minded need: the service's own words and counters. */
function technicalBlock(hl, companyId, breakerOut, refresh) {
  const rate = Number(hl.rateLimitUsage || 0);
  return technical(
    h("div", { class: "tiles" },
      tile("errors-24h", "Errors (24 h)", `${hl.errorsLast24h}${hl.errorsLast24hCapped ? "+" : ""}`),
      tile("dead-count", "Dead-lettered", String(hl.deadLettered ?? 0), `${hl.failedTimecards ?? 0} failed for mapping or data`),
      tile("retrying", "Retrying", String(hl.retryingTimecards ?? 0)),
      tile("rate-limit", "Rate-limit usage", `${rate.toFixed(0)}%`,
        h("div", { class: `meter ${rate >= 90 ? "meter-error" : rate >= 70 ? "meter-warn" : "meter-ok"}`,
          role: "meter", "aria-label": "Rate-limit usage", "aria-valuemin": "0", "aria-valuemax": "100",
          "aria-valuenow": String(Math.min(100, Math.round(rate))) },
        h("span", { style: `width:${Math.min(100, rate)}%` }))),
      tile("qbo-reads", "QuickBooks reads this month", String(hl.qboReadsThisMonth ?? 0))),
    h("h3", {}, "Circuit breaker"), breakerBlock(hl, companyId, breakerOut, refresh),
    hl.reasons && hl.reasons.length ? [h("h3", {}, "Health rules that fired"),
      h("ul", { id: "health-reasons-raw" }, hl.reasons.map((r) => h("li", {}, r)))] : null,
    (hl.recentRuns || []).length ? [h("h3", {}, "Recent jobs"), h("ul", { id: "recent-runs-raw" }, hl.recentRuns.map((r) =>
      h("li", {}, `${r.kind} (${r.trigger}) ${r.status}: ${r.synced}/${r.total} synced, ${r.failed} failed`)))] : null,
  );
}

const EXPIRY_WARN_DAYS = 30; // health turns degraded from here (monitoring/token_expiry.py)

function expiryTile(conn) {
  if (!conn.refreshTokenExpiresAt) return null;
  const days = Math.floor((Date.parse(conn.refreshTokenExpiresAt) - Date.now()) / 86400000);
  const near = days <= EXPIRY_WARN_DAYS;
  const left = Math.max(0, days);
  return tile("connection-expiry", "Connection expires", `in ${left} day${left === 1 ? "" : "s"}`,
    h("span", {}, dateTime(conn.refreshTokenExpiresAt),
      near ? [" ", h("a", { class: "button primary", id: "reconnect-link", href: "#/reconnect" }, "Reconnect")] : null));
}

const DRIFT_WORDS = { changed: "changed in QuickBooks", deleted: "deleted in QuickBooks" };

function driftBlock(drift, names, companyId, out, refresh) {
  const act = async (button, finding, action) => {
    try {
      await busy(button, () => post(`drift/${finding.id}/resolve`, { companyId, action }));
      const words = { push: "CrewFlow's version will be sent again", accept: "QuickBooks' version is kept",
        dismiss: "Dismissed" }[action];
      replace(out, message("ok", `${timecardLabel(names, finding.timecardId)}: ${words}.`));
      refresh();
    } catch (err) {
      replace(out, errorBox(err));
    }
  };
  if (!drift.items.length) {
    return h("div", { id: "drift" }, h("p", { class: "muted" }, "Nothing synced was changed or deleted inside QuickBooks."), out);
  }
  const foundBy = { reconciliation: "comparing with QuickBooks", webhook: "QuickBooks' own notice" };
  return h("div", { id: "drift" },
    table({}, ["Timecard", "What happened", "Found", "QuickBooks record", ""],
      drift.items.map((f) => h("tr", { dataset: { findingId: f.id, kind: f.kind } },
        h("td", {}, timecardLink(names, f.timecardId)),
        h("td", {}, `${DRIFT_WORDS[f.kind] || f.kind} (found by ${foundBy[f.source] || f.source})`),
        h("td", {}, ago(f.detectedAt)),
        h("td", {}, `#${f.qboId}`),
        h("td", { class: "row-actions" },
          h("button", { class: "drift-push", onclick: (ev) => act(ev.currentTarget, f, "push") }, "Send CrewFlow's version"),
          f.kind === "changed"
            ? h("button", { class: "drift-accept", onclick: (ev) => act(ev.currentTarget, f, "accept") }, "Keep QuickBooks' version")
            : null,
          h("button", { class: "drift-dismiss", onclick: (ev) => act(ev.currentTarget, f, "dismiss") }, "Dismiss")),
      ))),
    out,
  );
}

// `out` is created once by render(): the blocks are rebuilt on every refresh, and an action's outcome
// must survive the refresh that the action itself triggers.
function breakerBlock(hl, companyId, out, refresh) {
  const b = hl.breaker || { state: "closed", failures: 0 };
  const words = {
    closed: b.failures ? `Closed, ${b.failures} consecutive failure(s)` : "Closed: QuickBooks calls flow normally",
    open: `Open: QuickBooks calls paused${b.reopensAt ? ` until ${dateTime(b.reopensAt)}` : ""}`,
    half_open: "Half-open: trying one call",
  }[b.state] || b.state;
  return h("div", { id: "breaker", dataset: { state: b.state } },
    h("p", {}, h("span", { class: `pill pill-${b.state === "closed" ? "ok" : "error"}` }, b.state.replace("_", "-")),
      " ", words),
    b.state !== "closed" || b.failures
      ? h("button", {
        id: "breaker-reset",
        onclick: async (ev) => {
          try {
            const res = await busy(ev.currentTarget, () => post("breaker/reset", { companyId }));
            replace(out, message("ok", `Breaker reset (was ${res.breaker.previousState}).`));
            refresh();
          } catch (err) {
            replace(out, errorBox(err));
          }
        },
      }, "Reset breaker") : null,
    out,
  );
}

const RUN_WORDS = {
  sync_now: "Sync Now", live_sync: "Live sync turned on", drift_push: "CrewFlow's version sent again",
  event: "Approved timecards sent", sweep: "Waiting timecards sent",
  connect: "First directory import, after connecting", cron: "Directory refreshed from QuickBooks (scheduled)",
  admin: "Directory import", retry: "Directory import, tried again",
};

/** One job of the recent activity, in words: "Sync Now: 3 of 3 timecards sent". */
export function runWords(r) {
  const what = r.kind === "directory_import" ? RUN_WORDS[r.trigger] || "Directory import"
    : r.kind === "dry_run" ? "Dry run" : RUN_WORDS[r.trigger] || "Sending timecards";
  if (r.status === "pending") return `${what}: waiting to start`;
  if (r.status === "running") return `${what}: running`;
  if (r.status === "failed") return `${what}: did not finish`;
  if (r.kind !== "timecards" && r.kind) return `${what}: done`;
  if (!r.total) return `${what}: nothing needed sending`;
  // (a job's "failed" counts retries and lost answers too: what needs someone is counted under the tiles)
  return `${what}: ${r.synced} of ${r.total} timecard(s) sent${r.failed ? `, ${r.failed} not sent` : ""}`;
}

function runsBlock(hl) {
  const runs = hl.recentRuns || [];
  if (!runs.length) return h("p", { class: "muted", id: "recent-runs" }, "Nothing has happened yet.");
  return h("ul", { class: "activity", id: "recent-runs" }, runs.map((r) => {
    const ok = r.status === "completed" && !r.failed;
    const icon = r.status === "completed" ? (r.failed ? "!" : "✓") : r.status === "failed" ? "✗" : "…";
    return h("li", { class: ok ? "ok" : r.status === "failed" || r.failed ? "bad" : "" },
      h("span", { class: "icon", "aria-hidden": "true" }, icon),
      h("span", { class: "when" }, ago(r.completedAt || r.startedAt || r.createdAt)), ` ${runWords(r)}`);
  }));
}

// mapping/books.py words a closed-period failure so: "QuickBooks books are closed through 2026-10-31: this
// timecard (2026-10-15) cannot be sent. …"
const CLOSED_BOOKS = /^QuickBooks books are closed\b.*?this timecard \((\d{4}-\d{2}-\d{2})\)/;

function closedBooksActions(item, companyId) {
  const m = CLOSED_BOOKS.exec(item.message || "");
  if (!m || !companyId) return null;
  const day = m[1];
  const out = h("div", { class: "out", id: "closed-books-out" });
  const exportCsv = h("button", {
    id: "closed-books-csv",
    onclick: async (ev) => {
      try {
        const file = await busy(ev.currentTarget, () => download("export-csv",
          { companyId, startDate: day, endDate: day }, "unsynced-timecards.csv"));
        replace(out, message("ok", `Downloaded ${file.name} (the ${day} timecards not in QuickBooks).`));
      } catch (err) {
        replace(out, errorBox(err));
      }
    },
  }, `Export ${day} as CSV`);
  const retry = item.timecardId ? h("button", {
    id: "closed-books-retry",
    onclick: async (ev) => {
      try {
        await busy(ev.currentTarget, () => post("sync-now", { companyId, timecardIds: [item.timecardId] }));
        replace(out, message("info", "Queued again: QuickBooks' closing date is "
          + "read again first, and the timecard fails again only if its date is still closed."));
      } catch (err) {
        replace(out, errorBox(err));
      }
    },
  }, "Sync it now (books reopened)") : null;
  return h("div", { class: "closed-books", id: "closed-books" },
    h("p", {}, "QuickBooks refuses entries on or before its closing date, so this timecard is not retried. "
      + "Import it from the CSV, or sync it once the books reopen: it is sent again by itself when the closing "
      + "date moves before it (read at each directory import), or now with the button."),
    h("div", { class: "actions" }, exportCsv, retry),
    out);
}

function errorDetail(detail, item, companyId) {
  replace(detail,
    h("h3", {}, "Error details"),
    h("dl", { class: "facts" },
      h("dt", {}, "Message"), h("dd", { id: "error-message" }, item.message || "—"),
      h("dt", {}, "Timecard"), h("dd", { id: "error-timecard", dataset: { timecardId: item.timecardId || "" } },
        item.timecardLabel || item.timecardId || "—"),
      item.when ? [h("dt", {}, "When"), h("dd", {}, dateTime(item.when))] : null,
      item.action ? [h("dt", {}, "What"), h("dd", {}, actionWords(item.action, "failure"))] : null,
      item.qboId ? [h("dt", {}, "QuickBooks record"), h("dd", {}, `#${item.qboId}`)] : null,
      item.attempts ? [h("dt", {}, "Tries"), h("dd", {}, String(item.attempts))] : null,
      item.now ? [h("dt", {}, "Now"), h("dd", { id: "error-now" }, item.now.message)] : null,
    ),
    closedBooksActions(item, companyId),
    item.timecardId ? h("p", {}, h("a", { id: "error-open-timecard", href: `#/timecard?id=${item.timecardId}` },
      "This timecard: what happened and what happens next →"), " · ",
    h("a", { href: `#/audit?timecardId=${item.timecardId}` }, "its audit history")) : null,
    item.payload ? technical(h("p", { class: "muted" }, "What was sent:"), pretty(item.payload)) : null,
  );
  detail.hidden = false;
  detail.focus();
}

/** A timecard's state now, under a problem it had: whether it still needs someone, and what happens next. */
function nowLine(state) {
  if (!state) return null;
  return h("span", { class: `now ${state.needsYou ? "now-you" : "now-ok"}`, dataset: { reason: state.reason } },
    state.needsYou ? "Now: " : "Now (nothing to do): ", state.message);
}

function errorsBlock(errors, detail, companyId) {
  if (!errors.length) return h("p", { class: "muted", id: "recent-errors" }, "No errors.");
  return h("ul", { class: "errors", id: "recent-errors" }, errors.map((e) =>
    h("li", { dataset: { timecardId: e.timecardId || "" } },
      h("button", { class: "link error-item", onclick: () => errorDetail(detail, e, companyId) },
        h("span", { class: "when" }, ago(e.when)), " ", actionWords(e.action, "failure"),
        e.message ? `: ${e.message.slice(0, 90)}` : ""),
      nowLine(e.now),
      e.timecardId ? h("a", { class: "tc-link small", href: `#/timecard?id=${e.timecardId}` },
        `Open ${e.timecardLabel || "the timecard"}`) : null)));
}

function syncedBlock(synced) {
  if (!synced.length) return h("p", { class: "muted", id: "recently-synced" }, "No timecard has been sent to QuickBooks yet.");
  return h("ul", { class: "activity", id: "recently-synced" }, synced.map((t) => h("li", { dataset: { timecardId: t.timecardId } },
    h("span", { class: "icon", "aria-hidden": "true" }, "✓"), h("a", { class: "tc-link", href: `#/timecard?id=${t.timecardId}` },
      t.label),
    h("span", { class: "when" }, ` · sent ${ago(t.syncedAt)}`), " ",
    t.qboUrl ? h("a", { class: "qbo-link", href: t.qboUrl, target: "_blank", rel: "noopener",
      "aria-label": `Open in QuickBooks: ${t.label}` },
      "Open in QuickBooks") : null)));
}

function attentionBlock(dead, hl, names, states, companyId, detail, out, refresh) {
  const requeue = async (button, ids) => {
    try {
      const res = await busy(button, () => post("dead-letters/requeue", { companyId, timecardIds: ids }));
      replace(out, message("ok", `${res.requeued} timecard(s) queued again: they are sent within a minute; `
        + "watch “Recently sent”."));
      refresh();
    } catch (err) {
      replace(out, errorBox(err));
    }
  };
  const needs = (hl.waiting || []).filter((w) => w.needsYou && w.reason !== "dead");
  const fixes = hl.waiting ? needs.reduce((n, w) => n + w.count, 0) : hl.failedTimecards ?? 0;
  const fixLine = fixes ? h("div", { id: "needs-fix" }, needs.length ? waitLines(needs) : null,
    h("p", {}, "Open one under “Recent problems” to see what, then ", h("a", { href: "#/mapping" }, "fix the mapping"),
      " or the timecard in CrewFlow.")) : null;
  if (!dead.items.length) {
    return h("div", { id: "dead-letters" }, fixLine || h("p", { class: "muted" }, "Nothing needs your attention."), out);
  }
  return h("div", { id: "dead-letters" },
    h("p", {}, "QuickBooks did not take these timecards after several tries. Open one to see why; try again once it is fixed."),
    h("ul", { class: "errors" }, dead.items.map((d) => h("li", {},
      h("button", {
        class: "link error-item",
        onclick: () => errorDetail(detail, { message: d.error, timecardId: d.timecardId, attempts: d.attempts,
          qboId: d.qboId, when: d.updatedAt, action: d.operation === "delete" ? "delete_timecard" : "sync_timecard",
          timecardLabel: timecardLabel(names, d.timecardId), now: states[d.timecardId] }, companyId),
      }, timecardLabel(names, d.timecardId)),
      h("span", { class: "when" }, ` · ${d.attempts} tries, last ${ago(d.updatedAt)}: `), d.error || "QuickBooks refused it",
      " ", h("button", { class: "requeue", onclick: (ev) => requeue(ev.currentTarget, [d.timecardId]) }, "Try again"),
      " ", h("a", { class: "tc-link", href: `#/timecard?id=${d.timecardId}` }, "Open")))),
    dead.count > 1 ? h("button", { id: "requeue-all", onclick: (ev) => requeue(ev.currentTarget, null) }, `Try all ${dead.count} again`)
      : null,
    fixLine, out);
}

/** Sync Now's job in words: [kind, sentence] (never "Sync pending: 0 synced, 0 failed (0%)"). A finished job
 * also lists what of its timecards still waits, and until when (`st.waiting`, shown by syncMessage). */
export function syncWords(st) {
  const r = st.results || { synced: 0, failed: 0, errors: [] };
  const waits = st.waiting || [];
  if (st.status === "pending") return ["info", "Sync started: waiting for its turn (usually a few seconds)…"];
  if (st.status === "running") {
    return ["info", st.total ? `Sending to QuickBooks: ${r.synced + r.failed} of ${st.total} timecard(s) done…`
      : "Checking which timecards need sending…"];
  }
  if (st.status === "failed") {
    const why = st.note || (r.errors[0] && (r.errors[0].message || r.errors[0])) || "see “Recent problems” below";
    return ["error", `The sync did not finish: ${why}. Press Sync now again in a few minutes.`];
  }
  const waiting = waits.reduce((n, w) => n + w.count, 0);
  if (!r.synced && !r.failed) {
    return waiting ? ["info", `Done: nothing could be sent now; ${waiting} timecard(s) wait:`]
      : ["ok", "Done: nothing needed sending; every approved timecard is already in QuickBooks."];
  }
  return [r.failed ? "warn" : "ok", `Done: ${r.synced} timecard(s) sent to QuickBooks`
    + (r.failed ? `; ${r.failed} could not be sent: see “Waiting” and “Needs your attention” below.`
      : ": see “Recently sent” below.")
    + (waiting ? ` Still waiting: ${waiting}:` : "")];
}

/** A Sync Now message, with the lines of what waits and until when under it. */
function syncMessage(kind, words, waits) {
  return message(kind, words, waits && waits.length ? waitLines(waits, { id: "sync-waits" }) : null);
}

/** {timecardId: {reason, needsYou, since, until, message}}: each timecard's state now (GET health/timecards). */
export async function timecardStates(companyId, ids) {
  const unique = [...new Set(ids.filter(Boolean))].slice(0, 200);
  if (!unique.length) return {};
  return (await optional(get("health/timecards", { companyId, timecardId: unique }), { timecards: {} })).timecards;
}

export async function render(root, { companyId }) {
  replace(root, h("h1", {}, "Integration health"));
  if (!companyId) {
    root.append(needToken());
    return undefined;
  }
  const head = h("div", { class: "dash-head" });
  const body = h("div", { id: "dash-body" });
  const detail = h("aside", { class: "panel detail", id: "error-detail", tabindex: "-1", hidden: true });
  const syncOut = h("div", { class: "out inline-out", id: "sync-out" }); // in the row of Sync now, under it
  const stamp = h("span", { class: "muted", id: "refreshed-at" });
  const breakerOut = h("div", { class: "out", id: "breaker-out" });
  const deadOut = h("div", { class: "out", id: "dead-out" });
  const driftOut = h("div", { class: "out", id: "drift-out" });
  const reconcileOut = h("div", { class: "out", id: "reconcile-out" });
  const zoneBox = h("div", { id: "zone-box" });
  let timer = null;
  let stopped = false;
  let techOpen = false; // the technical details stay open across refreshes once opened
  let syncing = null; // the Sync Now job being followed
  let startWaits = []; // what the Sync Now's answer said cannot go now, shown while its job runs

  const refresh = async () => {
    try {
      const [hl, dead, errs, over, drift] = await Promise.all([
        get("health", { companyId }),
        optional(get("dead-letters", { companyId }), { items: [], count: 0 }),
        optional(get("audit-log", { companyId, status: "failure", limit: 10 }), { logs: [] }),
        overview(companyId),
        optional(get("drift", { companyId }), { items: [] }),
      ]);
      const names = await timecardNames(companyId, [...errs.logs.map((l) => l.timecardId),
        ...dead.items.map((d) => d.timecardId), ...drift.items.map((f) => f.timecardId)]);
      const states = await timecardStates(companyId, [...errs.logs.map((l) => l.timecardId),
        ...dead.items.map((d) => d.timecardId)]);
      if (stopped) return;
      const errors = errs.logs.map((l) => ({
        message: l.errorMessage, timecardId: l.timecardId, when: l.createdAt, action: l.action, qboId: l.qboId,
        payload: l.requestPayload, timecardLabel: l.timecardId ? timecardLabel(names, l.timecardId) : null,
        now: l.timecardId ? states[l.timecardId] : null,
      }));
      const tech = technicalBlock(hl, companyId, breakerOut, refresh);
      tech.id = "technical";
      tech.open = techOpen;
      tech.addEventListener("toggle", () => { techOpen = tech.open; });
      const attention = panel("Needs your attention", attentionBlock(dead, hl, names, states, companyId, detail, deadOut, refresh));
      attention.id = "attention";
      attention.tabIndex = -1;
      keepFocus(() => {
        replace(head, statusBlock(hl));
        replace(body,
          tiles(hl),
          panel("Waiting, and until when", waitsBlock(hl)),
          h("div", { class: "cols" },
            panel("Recent activity", runsBlock(hl)),
            panel("Recent problems", errorsBlock(errors, detail, companyId)),
          ),
          panel("Recently sent to QuickBooks", syncedBlock(over.recentlySynced || [])),
          attention,
          panel(`Changed in QuickBooks (${drift.items.length})`, driftBlock(drift, names, companyId, driftOut, refresh)),
          panel(null, tech),
        );
      });
      const running = (hl.recentRuns || []).find((r) => r.kind === "timecards" && r.trigger === "sync_now"
        && (r.status === "pending" || r.status === "running"));
      if (running && !syncing) follow(running.id); // a Sync Now started before this page opened
      stamp.textContent = `Updated ${clock()} · refreshes every ${REFRESH_SECONDS} s`;
      root.dataset.refreshedAt = String(Date.now());
    } catch (err) {
      if (!stopped) replace(head, errorBox(err));
    }
  };

  // Sync Now stays disabled while its job runs; its progress and outcome show next to it.
  const follow = async (jobId) => {
    syncing = jobId;
    syncNow.disabled = true;
    syncNow.textContent = "Syncing…";
    try {
      for (let i = 0; !stopped; i++) {
        let st;
        try {
          st = await get(`sync-status/${jobId}`);
        } catch (err) {
          feedback(syncOut, errorBox(err));
          return;
        }
        const [kind, words] = syncWords(st);
        const done = st.status === "completed" || st.status === "failed";
        const waits = done ? st.waiting : startWaits;
        if (done) feedback(syncOut, syncMessage(kind, words, waits));
        else if (!syncOut.textContent.startsWith(words)) replace(syncOut, syncMessage(kind, words, waits));
        if (done) {
          refresh();
          return;
        }
        await new Promise((r) => setTimeout(r, i < 60 ? 1000 : 5000));
      }
    } finally {
      syncing = null;
      syncNow.disabled = false;
      syncNow.textContent = "Sync now";
    }
  };

  const pollRun = async (runId) => {
    for (let i = 0; i < 120 && !stopped; i++) {
      let run;
      try {
        run = await get(`reconciliation/${runId}`, { companyId });
      } catch (err) {
        replace(reconcileOut, errorBox(err));
        return;
      }
      if (run.status === "completed" || run.status === "failed") {
        const c = run.counts || {};
        replace(reconcileOut, run.status === "failed"
          ? message("error", `Reconciliation failed: ${run.error || "unknown error"}`)
          : message("ok", `Reconciliation done: ${run.recordsRead} QuickBooks entries read; ${c.missing || 0} missing, `
            + `${c.duplicate || 0} duplicate, ${c.orphan || 0} orphan, ${c.drift || 0} changed in QuickBooks`
            + `${run.complete ? "" : " (the read budget ran out: not everything was read)"}.`));
        refresh();
        return;
      }
      replace(reconcileOut, message("info", `Reconciliation ${run.status}…`));
      await new Promise((r) => setTimeout(r, 1000));
    }
  };

  const reconcileNow = h("button", {
    id: "run-reconciliation",
    onclick: async (ev) => {
      try {
        const run = await busy(ev.currentTarget, () => post("reconciliation", { companyId }));
        replace(reconcileOut, message("info", "Reconciliation queued: it compares what CrewFlow sent with what QuickBooks holds…"));
        pollRun(run.runId);
      } catch (err) {
        replace(reconcileOut, errorBox(err));
      }
    },
  }, "Run reconciliation");

  const syncNow = h("button", {
    class: "primary", id: "sync-now",
    onclick: async () => {
      if (syncing) return;
      syncing = "starting"; // a refresh meanwhile must not follow the new job a second time
      syncNow.disabled = true;
      try {
        const res = await post("sync-now", { companyId });
        startWaits = res.waiting || [];
        feedback(syncOut, syncMessage("info", "Sync started: waiting for its turn (usually a few seconds)…"
          + (startWaits.length ? " Not sent now:" : ""), startWaits));
        follow(res.jobId);
      } catch (err) {
        syncing = null;
        syncNow.disabled = false;
        feedback(syncOut, errorBox(err));
      }
    },
  }, "Sync now");

  root.append(
    head,
    zoneBox,
    h("div", { class: "actions" }, syncNow, reconcileNow,
      h("button", { id: "refresh", onclick: () => refresh() }, "Refresh"),
      h("a", { class: "button", href: "#/audit" }, "View logs"), stamp, syncOut),
    reconcileOut,
    h("div", { class: "dash-grid" }, body, detail),
  );
  await refresh();
  loadZoneNote(companyId).then((note) => { if (note && !stopped) replace(zoneBox, note); });
  timer = setInterval(refresh, REFRESH_SECONDS * 1000);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
