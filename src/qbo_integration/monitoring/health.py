"""A company's integration health (PRD FR-6 and the health route), fast with a big history.

Every query uses an index that exists: audit (company_id, created_at DESC) with a bounded count,
sync_jobs (company_id, created_at DESC) LIMIT 10, timecard_sync_records (company_id, state, ...).

Status rules (also in docs/operations.md):
  failed   - QuickBooks is not connected (never connected, disconnected, or the connection was lost),
             or the circuit breaker is open or half-open (QBO calls are paused).
  degraded - connected and the breaker closed, but: timecards are dead-lettered, or need a human
             (failed for mapping/validation), or the breaker has recent consecutive failures, or the
             oldest due pending timecard has waited more than 30 minutes, or the most recent finished
             timecard sync run failed, or rate-limit usage is at 90 % or more, or Core holds a company
             time zone that is not an IANA zone ("today" is then counted in UTC).
  healthy  - none of the above.
`reasons` lists every rule that fired, in words.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnClause, Select, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.connections.models import Integration
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.core_platform.zones import BadCompanyTimezone
from qbo_integration.errors import NotFound
from qbo_integration.monitoring.models import AuditLogEntry
from qbo_integration.monitoring.setup import DEFAULT_DEADLINE, get_summary
from qbo_integration.sync.models import SyncJob, TimecardSyncRecord

ERROR_COUNT_CAP = 10_000
BACKLOG_AGE = timedelta(minutes=30)
RATE_WARN_PERCENT = 90.0
# Literals, not bound parameters: asyncpg prepares statements and after five runs PostgreSQL may use a
# generic plan, which cannot use a partial index whose predicate is a parameter. With a million audit
# rows the bound-parameter error count took 130 ms a call (the literal one uses the partial index).
FAILURE: ColumnClause[str] = literal_column("'failure'")
SYNCED: ColumnClause[str] = literal_column("'synced'")


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None


def bounded_errors_query(company_id: uuid.UUID, since: datetime) -> Select[int]:
    inner = (
        select(AuditLogEntry.id)
        .where(AuditLogEntry.company_id == company_id, AuditLogEntry.created_at >= since,
               AuditLogEntry.status == FAILURE)
        .limit(ERROR_COUNT_CAP)
        .subquery()
    )
    return select(func.count()).select_from(inner)


async def _bounded_errors(session: AsyncSession, company_id: uuid.UUID, since: datetime) -> int:
    return int((await session.execute(bounded_errors_query(company_id, since))).scalar_one())


async def _states(session: AsyncSession, company_id: uuid.UUID) -> dict[str, int]:
    rows = await session.execute(
        select(TimecardSyncRecord.state, func.count())
        .where(TimecardSyncRecord.company_id == company_id,
               TimecardSyncRecord.state.in_(("pending", "in_flight", "failed", "dead")))
        .group_by(TimecardSyncRecord.state)
    )
    return {state: int(n) for state, n in rows.all()}


async def _synced_since(session: AsyncSession, company_id: uuid.UUID, since: datetime) -> int:
    return int((await session.execute(
        select(func.count()).select_from(TimecardSyncRecord).where(
            TimecardSyncRecord.company_id == company_id, TimecardSyncRecord.state == SYNCED,
            TimecardSyncRecord.synced_at >= since)
    )).scalar_one())


async def _oldest_due_pending(session: AsyncSession, company_id: uuid.UUID) -> datetime | None:
    return (await session.execute(
        select(func.min(TimecardSyncRecord.next_attempt_at)).where(
            TimecardSyncRecord.company_id == company_id, TimecardSyncRecord.state == "pending")
    )).scalar_one()


async def _recent_runs(session: AsyncSession, company_id: uuid.UUID) -> list[SyncJob]:
    return list((await session.execute(
        select(SyncJob).where(SyncJob.company_id == company_id).order_by(SyncJob.created_at.desc()).limit(10)
    )).scalars())


def _run(job: SyncJob) -> dict[str, Any]:
    return {"id": str(job.id), "kind": job.kind, "trigger": job.trigger, "status": job.status,
            "createdAt": _iso(job.created_at), "startedAt": _iso(job.started_at),
            "completedAt": _iso(job.completed_at), "total": job.timecards_total, "synced": job.timecards_synced,
            "failed": job.timecards_failed}


async def company_health(session: AsyncSession, qbo: Any, company_id: uuid.UUID, *,
                         now: datetime | None = None, deadline: timedelta = DEFAULT_DEADLINE) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    company = await CoreGateway(session).get_company(company_id)
    if company is None:
        raise NotFound(f"Company {company_id} not found")
    try:
        tz, zone_problem = company.zone, None
    except BadCompanyTimezone as exc:  # still report health; "today" falls back to UTC
        tz, zone_problem = ZoneInfo("UTC"), exc.message
    today_start = datetime.combine(now.astimezone(tz).date(), time.min, tz)

    integration = (await session.execute(
        select(Integration).where(Integration.company_id == company_id))).scalar_one_or_none()
    states = await _states(session, company_id)
    runs = await _recent_runs(session, company_id)
    errors = await _bounded_errors(session, company_id, now - timedelta(hours=24))
    synced_today = await _synced_since(session, company_id, today_start)
    oldest_pending = await _oldest_due_pending(session, company_id)
    setup = await get_summary(session, company_id, now=now, deadline=deadline)

    breaker = await qbo.breaker_state(company_id) if qbo is not None else None
    realm = integration.realm_id if integration else None
    rate = round(float(await qbo.rate_usage(realm)), 1) if qbo is not None and realm else 0.0

    last_sync = integration.last_sync_at if integration else None
    finished = [j for j in runs if j.kind == "timecards" and j.status in ("completed", "failed")]
    for job in finished:
        if job.status == "completed" and job.completed_at and (last_sync is None or job.completed_at > last_sync):
            last_sync = job.completed_at
            break

    conn_status = integration.connection_status if integration else "never_connected"
    failed_reasons: list[str] = []
    degraded_reasons: list[str] = []
    if conn_status != "connected":
        failed_reasons.append({"never_connected": "QuickBooks is not connected",
                               "disconnected": "QuickBooks was disconnected",
                               "lost": "The QuickBooks connection was lost; reconnect"}.get(conn_status, conn_status))
    if breaker is not None and breaker.state in ("open", "half_open"):
        failed_reasons.append("QuickBooks calls are paused (circuit breaker open)")
    dead = states.get("dead", 0)
    if dead:
        degraded_reasons.append(f"{dead} timecard(s) dead-lettered after all retries")
    if states.get("failed", 0):
        degraded_reasons.append(f"{states['failed']} timecard(s) need a mapping or data fix")
    if breaker is not None and breaker.state == "closed" and breaker.failures > 0:
        degraded_reasons.append(f"{breaker.failures} consecutive failed QuickBooks call(s)")
    if oldest_pending is not None and oldest_pending < now - BACKLOG_AGE:
        degraded_reasons.append("Timecards have been waiting more than 30 minutes to sync")
    if finished and finished[0].status == "failed":
        degraded_reasons.append("The last sync run failed")
    if rate >= RATE_WARN_PERCENT:
        degraded_reasons.append(f"Rate limit usage at {rate:.0f}%")
    if zone_problem:
        degraded_reasons.append(zone_problem)
    status = "failed" if failed_reasons else "degraded" if degraded_reasons else "healthy"

    return {
        "status": status,
        "reasons": failed_reasons + degraded_reasons,
        "lastSync": _iso(last_sync),
        "syncedToday": synced_today,
        "errorsLast24h": errors,
        "errorsLast24hCapped": errors >= ERROR_COUNT_CAP,
        "pendingTimecards": states.get("pending", 0) + states.get("in_flight", 0),
        "failedTimecards": states.get("failed", 0),
        "deadLettered": dead,
        "rateLimitUsage": rate,
        "connection": {
            "status": conn_status,
            "since": _iso(integration.connection_changed_at) if integration else None,
            "reason": integration.connection_reason if integration else None,
            "realmId": realm,
            "companyName": integration.qbo_company_name if integration else None,
            "liveSyncEnabled": bool(integration.enabled) if integration else False,
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
