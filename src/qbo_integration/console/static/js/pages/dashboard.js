// Health dashboard: status colour, counters, rate-limit usage, breaker (with reset), recent activity,
// recent errors (click one: its message and timecard; a timecard refused because QuickBooks' books are
// closed offers its two ways out: the CSV, or a retry once the books reopen), dead letters (re-queue), Sync Now.
// Drift: synced time entries changed or deleted inside QuickBooks (send ours again / keep QuickBooks' /
// dismiss each) and Run reconciliation. The connection's expiry, with Reconnect inside 30 days.
// Refreshes every REFRESH_SECONDS (30 s; ?refresh=N overrides) without reloading the page.

import { download, get, optional, post } from "../api.js";
import { REFRESH_SECONDS } from "../config.js";
import { ago, busy, clock, dateTime, details, errorBox, h, keepFocus, message, needToken, panel, pretty, replace } from "../dom.js";
import { overview, timecardLabel, timecardNames } from "../names.js";
import { ACTION_WORDS } from "./audit.js";

const actionWords = (a) => ACTION_WORDS[a] || (a || "sync").replace(/_/g, " ");

const STATUS_WORDS = { healthy: "Healthy", degraded: "Degraded", failed: "Failed" };

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
      conn.status === "connected" ? ` · connected to ${conn.companyName || conn.realmId}` : ` · ${conn.status}`,
      ` · live sync ${conn.liveSyncEnabled ? "on" : "off"}`),
    hl.reasons && hl.reasons.length
      ? h("ul", { class: "reasons" }, hl.reasons.map((r) => h("li", {}, r))) : null,
  );
}

function tiles(hl) {
  const rate = Number(hl.rateLimitUsage || 0);
  return h("div", { class: "tiles" },
    tile("last-sync", "Last sync", ago(hl.lastSync), hl.lastSync ? dateTime(hl.lastSync) : "no sync yet"),
    tile("synced-today", "Synced today", String(hl.syncedToday), "timecards"),
    tile("errors-24h", "Errors (24 h)", `${hl.errorsLast24h}${hl.errorsLast24hCapped ? "+" : ""}`),
    tile("pending", "Pending", String(hl.pendingTimecards), "timecards waiting"),
    tile("rate-limit", "Rate-limit usage", `${rate.toFixed(0)}%`,
      h("div", { class: `meter ${rate >= 90 ? "meter-error" : rate >= 70 ? "meter-warn" : "meter-ok"}` },
        h("span", { style: `width:${Math.min(100, rate)}%` }))),
    tile("dead-count", "Dead-lettered", String(hl.deadLettered ?? 0), `${hl.failedTimecards ?? 0} need a fix`),
    tile("drift-count", "Changed in QuickBooks", String(hl.openDriftFindings ?? 0),
      hl.openDriftFindings
        ? h("button", { class: "link", id: "drift-review", onclick: () => document.getElementById("drift")?.scrollIntoView() },
          "review below")
        : "none to review"),
    expiryTile(hl.connection || {}),
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
  return h("div", { id: "drift" },
    h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Timecard", "What happened", "Found", "QuickBooks id", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, drift.items.map((f) => h("tr", { dataset: { findingId: f.id, kind: f.kind } },
        h("td", {}, timecardLabel(names, f.timecardId)),
        h("td", {}, `${DRIFT_WORDS[f.kind] || f.kind} (found by ${f.source})`),
        h("td", {}, ago(f.detectedAt)),
        h("td", {}, f.qboId),
        h("td", { class: "row-actions" },
          h("button", { class: "drift-push", onclick: (ev) => act(ev.currentTarget, f, "push") }, "Send CrewFlow's version"),
          f.kind === "changed"
            ? h("button", { class: "drift-accept", onclick: (ev) => act(ev.currentTarget, f, "accept") }, "Keep QuickBooks' version")
            : null,
          h("button", { class: "drift-dismiss", onclick: (ev) => act(ev.currentTarget, f, "dismiss") }, "Dismiss")),
      )))),
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

function runsBlock(hl) {
  const runs = hl.recentRuns || [];
  if (!runs.length) return h("p", { class: "muted", id: "recent-runs" }, "No sync activity yet.");
  return h("ul", { class: "activity", id: "recent-runs" }, runs.map((r) => {
    const ok = r.status === "completed" && !r.failed;
    const icon = r.status === "completed" ? (r.failed ? "!" : "✓") : r.status === "failed" ? "✗" : "…";
    const what = r.kind === "timecards" || !r.kind
      ? `${r.synced} synced${r.failed ? `, ${r.failed} failed` : ""} of ${r.total}`
      : `${r.kind.replace(/_/g, " ")}`;
    return h("li", { class: ok ? "ok" : r.status === "failed" || r.failed ? "bad" : "" },
      h("span", { class: "icon", "aria-hidden": "true" }, icon),
      h("span", { class: "when" }, ago(r.completedAt || r.startedAt || r.createdAt)),
      ` ${r.status} — ${what} (${r.trigger})`);
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
        const res = await busy(ev.currentTarget, () => post("sync-now", { companyId, timecardIds: [item.timecardId] }));
        replace(out, message("info", `Queued again (job ${res.jobId.slice(0, 8)}…): QuickBooks' closing date is `
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
      item.action ? [h("dt", {}, "What"), h("dd", {}, actionWords(item.action))] : null,
      item.qboId ? [h("dt", {}, "QuickBooks id"), h("dd", {}, item.qboId)] : null,
      item.attempts ? [h("dt", {}, "Attempts"), h("dd", {}, String(item.attempts))] : null,
    ),
    closedBooksActions(item, companyId),
    item.timecardId ? h("p", {}, h("a", { href: `#/audit?timecardId=${item.timecardId}` }, "This timecard's audit history →")) : null,
    item.payload ? details("Details: what was sent", pretty(item.payload)) : null,
  );
  detail.hidden = false;
  detail.focus();
}

function errorsBlock(errors, detail, companyId) {
  if (!errors.length) return h("p", { class: "muted", id: "recent-errors" }, "No errors.");
  return h("ul", { class: "errors", id: "recent-errors" }, errors.map((e) =>
    h("li", {},
      h("button", { class: "link error-item", onclick: () => errorDetail(detail, e, companyId) },
        h("span", { class: "when" }, ago(e.when)), " ", actionWords(e.action), ": ",
        (e.message || "").slice(0, 90)))));
}

function syncedBlock(synced) {
  if (!synced.length) return h("p", { class: "muted", id: "recently-synced" }, "No timecard has been sent to QuickBooks yet.");
  return h("ul", { class: "activity", id: "recently-synced" }, synced.map((t) => h("li", { dataset: { timecardId: t.timecardId } },
    h("span", { class: "when" }, ago(t.syncedAt)), " ", t.label, " → ",
    t.qboUrl ? h("a", { href: t.qboUrl, target: "_blank", rel: "noopener" }, `QuickBooks time activity ${t.qboId}`)
      : `QuickBooks time activity ${t.qboId}`)));
}

function deadBlock(dead, names, companyId, detail, out, refresh) {
  const requeue = async (button, ids) => {
    try {
      const res = await busy(button, () => post("dead-letters/requeue", { companyId, timecardIds: ids }));
      replace(out, message("ok", `${res.requeued} timecard(s) queued again.`));
      refresh();
    } catch (err) {
      replace(out, errorBox(err));
    }
  };
  if (!dead.items.length) return h("div", { id: "dead-letters" }, h("p", { class: "muted" }, "No dead letters."), out);
  return h("div", { id: "dead-letters" },
    h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Timecard", "Error", "Attempts", "Updated", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, dead.items.map((d) => h("tr", {},
        h("td", {}, h("button", {
          class: "link error-item",
          onclick: () => errorDetail(detail, { message: d.error, timecardId: d.timecardId, attempts: d.attempts,
            qboId: d.qboId, when: d.updatedAt, action: d.operation, timecardLabel: timecardLabel(names, d.timecardId) },
          companyId),
        }, timecardLabel(names, d.timecardId))),
        h("td", {}, d.error || d.errorCode || "—"),
        h("td", {}, String(d.attempts)),
        h("td", {}, ago(d.updatedAt)),
        h("td", {}, h("button", { onclick: (ev) => requeue(ev.currentTarget, [d.timecardId]) }, "Re-queue")),
      )))),
    h("button", { id: "requeue-all", onclick: (ev) => requeue(ev.currentTarget, null) }, `Re-queue all ${dead.count}`),
    out,
  );
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
  const syncOut = h("div", { class: "out", id: "sync-out" });
  const stamp = h("span", { class: "muted", id: "refreshed-at" });
  const breakerOut = h("div", { class: "out", id: "breaker-out" });
  const deadOut = h("div", { class: "out", id: "dead-out" });
  const driftOut = h("div", { class: "out", id: "drift-out" });
  const reconcileOut = h("div", { class: "out", id: "reconcile-out" });
  let timer = null;
  let stopped = false;

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
      if (stopped) return;
      const errors = errs.logs.map((l) => ({
        message: l.errorMessage, timecardId: l.timecardId, when: l.createdAt, action: l.action, qboId: l.qboId,
        payload: l.requestPayload, timecardLabel: l.timecardId ? timecardLabel(names, l.timecardId) : null,
      }));
      keepFocus(() => {
      replace(head, statusBlock(hl));
      replace(body,
        tiles(hl),
        h("div", { class: "cols" },
          panel("Recent activity", runsBlock(hl)),
          panel("Recent errors", errorsBlock(errors, detail, companyId)),
        ),
        panel("Recently synced", syncedBlock(over.recentlySynced || [])),
        h("div", { class: "cols" },
          panel("Circuit breaker", breakerBlock(hl, companyId, breakerOut, refresh)),
          panel(`Dead letters (${dead.count})`, deadBlock(dead, names, companyId, detail, deadOut, refresh)),
        ),
        panel(`Changed in QuickBooks (${drift.items.length})`, driftBlock(drift, names, companyId, driftOut, refresh)),
      );
      });
      stamp.textContent = `Updated ${clock()} · refreshes every ${REFRESH_SECONDS} s`;
      root.dataset.refreshedAt = String(Date.now());
    } catch (err) {
      if (!stopped) replace(head, errorBox(err));
    }
  };

  const pollJob = async (jobId) => {
    for (let i = 0; i < 120 && !stopped; i++) {
      let st;
      try {
        st = await get(`sync-status/${jobId}`);
      } catch (err) {
        replace(syncOut, errorBox(err));
        return;
      }
      const words = `Sync ${st.status}: ${st.results.synced} synced, ${st.results.failed} failed (${st.progress}%)`;
      replace(syncOut, message(st.status === "failed" ? "error" : st.status === "completed" ? "ok" : "info", words));
      if (st.status === "completed" || st.status === "failed") {
        refresh();
        return;
      }
      await new Promise((r) => setTimeout(r, 1000));
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
        replace(reconcileOut, message("info", `Reconciliation queued (run ${run.runId.slice(0, 8)}…).`));
        pollRun(run.runId);
      } catch (err) {
        replace(reconcileOut, errorBox(err));
      }
    },
  }, "Run reconciliation");

  const syncNow = h("button", {
    class: "primary", id: "sync-now",
    onclick: async (ev) => {
      try {
        const res = await busy(ev.currentTarget, () => post("sync-now", { companyId }));
        replace(syncOut, message("info", `${res.message} (job ${res.jobId.slice(0, 8)}…)`));
        pollJob(res.jobId);
      } catch (err) {
        replace(syncOut, errorBox(err));
      }
    },
  }, "Sync now");

  root.append(
    head,
    h("div", { class: "actions" }, syncNow, reconcileNow,
      h("button", { id: "refresh", onclick: () => refresh() }, "Refresh"),
      h("a", { class: "button", href: "#/audit" }, "View logs"), stamp),
    syncOut,
    reconcileOut,
    h("div", { class: "dash-grid" }, body, detail),
  );
  await refresh();
  timer = setInterval(refresh, REFRESH_SECONDS * 1000);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
