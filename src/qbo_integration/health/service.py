"""A company's integration health (PRD FR-6 and the health route), fast with a big history.

The database part is five short statements (health/query.py); the route keeps the whole answer
for HEALTH_CACHE_SECONDS per process (HealthCache), so 100 connections polling one company cost one
computation a second, not one a request (bench/api_load.py).

Status rules (also in docs/operations.md):
  failed   - QuickBooks is not connected (never connected, disconnected, or the connection was lost),
             or the circuit breaker is open or half-open (QBO calls are paused).
  degraded - connected and the breaker closed, but: live sync is off (nothing is sent until an admin turns
             it on), or timecards are dead-lettered, or need a human
             (failed for mapping/validation), or the breaker has recent consecutive failures, or the
             oldest due pending timecard has waited more than 30 minutes, or the most recent finished
             timecard sync run failed, or rate-limit usage is at 90 % or more, or Core holds a company
             time zone that is not an IANA zone ("today" is then counted in UTC), or the refresh token
             expires within 30 days (monitoring.token_expiry: reconnect), or a signal another domain
             contributes says so (open drift findings: reconciliation.health_signal).
  healthy  - none of the above.
`reasons` lists every rule that fired, in words.

Signals: the domains above health (reconciliation's drift findings) add to health without monitoring
importing them. Each is an async function (session, company_id) -> HealthSignal, handed to
`company_health` by the caller; the process's list is `Services.health_signals`, built at composition.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.clock import utc_now
from qbo_integration.errors import NotFound
from qbo_integration.health import query as health_query
from qbo_integration.monitoring import read_budget, read_meter, token_expiry
from qbo_integration.monitoring.setup import DEFAULT_DEADLINE, summarise
from qbo_integration.sync import waits as sync_waits
from qbo_integration.sync.stats import Run

T = TypeVar("T")
ERROR_COUNT_CAP = health_query.ERROR_COUNT_CAP
BACKLOG_AGE = timedelta(minutes=30)
RATE_WARN_PERCENT = 90.0
LIVE_SYNC_OFF = "Live sync is off: approved timecards wait until an admin turns it on (Test mode)"


@dataclass(frozen=True)
class HealthSignal:
    """A count another domain contributes to a company's health."""

    key: str  # the answer's field for the count, e.g. "openDriftFindings"
    count: int
    degraded_reason: str | None = None  # set: health is (at least) degraded, for this reason


SignalSource = Callable[[AsyncSession, uuid.UUID], Awaitable[HealthSignal]]


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None


def bounded_errors_query(company_id: uuid.UUID, since: datetime) -> Select[int]:
    return select(func.count()).select_from(health_query.bounded_errors(company_id, since, ERROR_COUNT_CAP).subquery())


def _run(job: Run) -> dict[str, Any]:
    return {"id": str(job.id), "kind": job.kind, "trigger": job.trigger, "status": job.status,
            "createdAt": _iso(job.created_at), "startedAt": _iso(job.started_at),
            "completedAt": _iso(job.completed_at), "total": job.timecards_total, "synced": job.timecards_synced,
            "failed": job.timecards_failed}


async def company_health(session: AsyncSession, qbo: Any, company_id: uuid.UUID, *,
                         now: datetime | None = None, deadline: timedelta = DEFAULT_DEADLINE,
                         signals: Sequence[SignalSource] = (), sweep_minutes: int = 15) -> dict[str, Any]:
    now = now or utc_now()
    snap = await health_query.snapshot(session, company_id, now, ERROR_COUNT_CAP)
    if snap is None:
        raise NotFound(f"Company {company_id} not found")
    runs = await health_query.recent_runs(session, company_id)
    setup = summarise(snap.checklist, company_id, now=now, deadline=deadline)
    integration = snap.integration or {}
    errors = snap.errors

    breaker = await qbo.breaker_state(company_id) if qbo is not None else None
    realm = integration.get("realm_id")
    rate = round(float(await qbo.rate_usage(realm)), 1) if qbo is not None and realm else 0.0
    redis = getattr(qbo, "redis", None)  # the QboApi's Redis, where read calls are counted
    reads = await read_meter.reads_this_month(redis, company_id, now) if redis is not None else 0
    reads_today = await read_meter.company_day(redis, company_id, now) if redis is not None else {}
    deferred = await read_meter.deferred_today(redis, company_id, now) if redis is not None else {}
    app_reads = await read_meter.app_month_total(redis, now) if redis is not None else 0

    found = [await source(session, company_id) for source in signals]
    context = sync_waits.Context(now=now, connected=integration.get("connection_status") == "connected" and bool(realm),
                                 enabled=bool(integration.get("enabled")), breaker_until=sync_waits.breaker_end(breaker),
                                 zone=snap.zone, sweep_minutes=sweep_minutes, books_read=False)
    waits = await sync_waits.company_waits(session, context, company_id, unqueued=snap.unqueued)
    expiry = (token_expiry.deadline(integration.get("refresh_token_expires_at"),
                                    integration.get("refresh_token_hard_expires_at"))
              if integration.get("connection_status") == "connected" else None)

    last_sync = integration.get("last_sync_at")
    finished = [j for j in runs if j.kind == "timecards" and j.status in ("completed", "failed")]
    for job in finished:
        if job.status == "completed" and job.completed_at and (last_sync is None or job.completed_at > last_sync):
            last_sync = job.completed_at
            break

    conn_status = integration.get("connection_status") or "never_connected"
    failed_reasons: list[str] = []
    degraded_reasons: list[str] = []
    if conn_status != "connected":
        failed_reasons.append({"never_connected": "QuickBooks is not connected",
                               "disconnected": "QuickBooks was disconnected",
                               "lost": "The QuickBooks connection was lost; reconnect"}.get(conn_status, conn_status))
    if breaker is not None and breaker.state in ("open", "half_open"):
        failed_reasons.append("QuickBooks calls are paused (circuit breaker open)")
    if conn_status == "connected" and not integration.get("enabled"):
        degraded_reasons.append(LIVE_SYNC_OFF)
    dead = snap.dead
    if dead:
        degraded_reasons.append(f"{dead} timecard(s) dead-lettered after all retries")
    if snap.needs_fix:
        degraded_reasons.append(f"{snap.needs_fix} timecard(s) need a mapping or data fix")
    if breaker is not None and breaker.state == "closed" and breaker.failures > 0:
        degraded_reasons.append(f"{breaker.failures} consecutive failed QuickBooks call(s)")
    oldest_pending = snap.oldest_due_pending
    if oldest_pending is not None and oldest_pending < now - BACKLOG_AGE:
        degraded_reasons.append("Timecards have been waiting more than 30 minutes to sync")
    if finished and finished[0].status == "failed":
        degraded_reasons.append("The last sync run failed")
    if rate >= RATE_WARN_PERCENT:
        degraded_reasons.append(f"Rate limit usage at {rate:.0f}%")
    if snap.zone_problem:
        degraded_reasons.append(snap.zone_problem)
    if expiry is not None and expiry.at - now <= timedelta(days=token_expiry.WARN_DAYS):
        degraded_reasons.append(
            f"The QuickBooks connection expires on {expiry.date()} (in {expiry.days_left(now)} day(s)): "
            "an admin must reconnect QuickBooks before then")
    if deferred:
        what = ", ".join(f"{k.replace('_', ' ')} ({n})" for k, n in sorted(deferred.items()))
        degraded_reasons.append(f"QuickBooks reads deferred today to keep the app within its monthly read budget "
                                f"({read_budget.percent(app_reads):.0f}% used): {what}")
    degraded_reasons.extend(sig.degraded_reason for sig in found if sig.degraded_reason)
    status = "failed" if failed_reasons else "degraded" if degraded_reasons else "healthy"

    return {
        "status": status,
        "reasons": failed_reasons + degraded_reasons,
        "lastSync": _iso(last_sync),
        "syncedToday": snap.synced_today,
        "errorsLast24h": errors,
        "errorsLast24hCapped": errors >= ERROR_COUNT_CAP,
        "pendingTimecards": snap.pending + snap.unqueued,
        # Every timecard not in QuickBooks as CrewFlow wants it, by what it waits for and until when
        # (sync/waits.py); waitingTimecards + needsAttention = their total.
        "waiting": [w.as_dict() for w in waits],
        "waitingTimecards": sync_waits.waiting(waits),
        "needsAttention": sync_waits.needing_you(waits),
        "failedTimecards": snap.needs_fix,
        "retryingTimecards": snap.retrying,
        "deadLettered": dead,
        "rateLimitUsage": rate,
        "qboReadsThisMonth": reads,  # metered by Intuit (CorePlus); UTC calendar month
        "qboReadsToday": reads_today,  # this company's, UTC day, by purpose (qbo.purpose)
        "qboReadsDeferredToday": deferred,  # by purpose: near the app's budget (monitoring.read_budget)
        "qboReadBudget": {"appReadsThisMonth": app_reads, "monthlyBudget": read_budget.monthly(),
                          "percent": round(read_budget.percent(app_reads), 2),
                          "deferring": sorted(p for p, at in read_budget.DEFER_FROM.items()
                                              if read_budget.percent(app_reads) >= at)},
        **{sig.key: sig.count for sig in found},
        "connection": {
            "status": conn_status,
            "since": _iso(integration.get("connection_changed_at")),
            "reason": integration.get("connection_reason"),
            "realmId": realm,
            "companyName": integration.get("qbo_company_name"),
            "liveSyncEnabled": bool(integration.get("enabled")),
            # When the grant ends: the earlier of the rolling and the hard (5-year) expiry, and the hard one
            # when QuickBooks told it. reconnectPath starts a new grant (GET, as the signed-in admin).
            "refreshTokenExpiresAt": _iso(expiry.at) if expiry else None,
            "refreshTokenHardExpiresAt": _iso(integration.get("refresh_token_hard_expires_at")) if expiry else None,
            "reconnectPath": token_expiry.RECONNECT_PATH,
        },
        "breaker": {
            "state": breaker.state if breaker else "closed",
            "failures": breaker.failures if breaker else 0,
            "openedAt": _iso(breaker.opened_at) if breaker else None,
            "reopensAt": _iso(breaker.reopens_at) if breaker else None,
        },
        "recentRuns": [_run(j) for j in runs],
        "setup": {
            "complete": setup.complete,
            "stepsDone": setup.done_count,
            "stepsTotal": len(setup.steps),
            "startedAt": _iso(setup.started_at),
            "completedAt": _iso(setup.completed_at),
            "deadlineAt": _iso(setup.deadline_at),
            "elapsedSeconds": round(setup.elapsed_seconds),
        },
        "checkedAt": _iso(now),
    }


class HealthCache(Generic[T]):
    """Each company's last answer for `ttl` seconds, in this process; one computation at a time per company.

    Under 100 connections polling one company, the answer is computed about once per `ttl`; the
    requests that arrive while it is being computed get the previous answer (or, for the very first,
    wait for that computation) instead of starting their own, so only one request in a second waits
    for the database. `checkedAt` in the answer says when it was computed. ttl 0 turns the cache off.
    """

    MAX_COMPANIES = 10_000

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._answers: dict[uuid.UUID, tuple[float, T]] = {}
        self._computing: dict[uuid.UUID, asyncio.Future[T]] = {}

    async def get(self, company_id: uuid.UUID, compute: Callable[[], Awaitable[T]]) -> T:
        if self.ttl <= 0:
            return await compute()
        kept = self._answers.get(company_id)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        running = self._computing.get(company_id)
        if running is not None:
            if kept is not None:  # a fresh answer is on its way: meanwhile the last one (at most ttl + its time)
                return kept[1]
            return await asyncio.shield(running)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda f: f.cancelled() or f.exception())  # no "never retrieved" warnings
        self._computing[company_id] = future
        try:
            answer = await compute()
            if len(self._answers) >= self.MAX_COMPANIES:
                self._answers.clear()
            self._answers[company_id] = (time.monotonic() + self.ttl, answer)
            future.set_result(answer)
            return answer
        except BaseException as exc:
            future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("health computation stopped"))
            raise
        finally:
            del self._computing[company_id]
