"""The sync_jobs row of a run: counts, errors, and the cost in QBO calls, batches and retries."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Table, cast, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import JSONB, array
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from qbo_integration.connections.service import get_integration
from qbo_integration.monitoring.notify import timecards_dead_lettered
from qbo_integration.monitoring.setup import mark_step
from qbo_integration.sync.models import SyncJob
from qbo_integration.sync.writeback import RoundSummary

logger = logging.getLogger(__name__)
MAX_ERRORS = 200
# The table, for the counters' single-statement UPDATEs (no ORM load of the row first).
_JOBS: Table = SyncJob.__table__  # type: ignore[assignment]
_NEWEST: ColumnElement[Any] = literal_column(f"'$[last - {MAX_ERRORS - 1} to last]'::jsonpath")  # an array's last MAX_ERRORS


async def create(session: AsyncSession, integration_id: uuid.UUID, company_id: uuid.UUID, trigger: str,
                 params: dict[str, Any] | None = None) -> SyncJob:
    job = SyncJob(id=uuid.uuid4(), integration_id=integration_id, company_id=company_id, kind="timecards",
                  trigger=trigger, status="pending", params=params or {}, errors=[], results={})
    session.add(job)
    await session.flush()
    return job


async def start(sm: async_sessionmaker[AsyncSession], company_id: uuid.UUID, job_id: uuid.UUID | None,
                trigger: str, now: datetime) -> SyncJob | None:
    async with sm() as s:
        # One statement for a queued job; its UPDATE locks the row, so a sweep giving the job up as lost
        # (fail_unstarted) and its start happen one after the other.
        job = await _mark_running(s, job_id, now) if job_id else None
        if job is not None:
            await s.commit()
            return job
        # A failed job (given up as lost, or re-run by the queue) or none yet: read it under its lock.
        job = await s.get(SyncJob, job_id, with_for_update=True) if job_id else None
        if job is None:
            integration = await get_integration(s, company_id)
            if integration is None:
                return None
            job = await create(s, integration.id, company_id, trigger)
        if job.status == "failed" and was_given_up(job):
            # Given up as lost, yet its queue entry survived after all: it runs, and says so no more.
            job.results = {k: v for k, v in job.results.items() if k not in ("note", LOST_KEY)}
            job.completed_at = None
        job.status = "running"
        job.started_at = job.started_at or now
        await s.commit()
        return job


async def _mark_running(session: AsyncSession, job_id: uuid.UUID, now: datetime) -> SyncJob | None:
    """The job's row, marked running, unless it failed (start's other path decides those)."""
    stmt = (update(SyncJob).where(SyncJob.id == job_id, SyncJob.status != "failed")
            .values(status="running", started_at=func.coalesce(SyncJob.started_at, now))
            .returning(SyncJob).execution_options(synchronize_session=False))
    return (await session.execute(stmt)).scalar_one_or_none()


NEVER_STARTED_AFTER = timedelta(minutes=30)  # far beyond a queue's wait in a burst (about a minute at 1,000 companies)
NEVER_STARTED_NOTE = ("This sync job never started: the job queue lost it (Redis restarted or could not be "
                      "reached). Timecards waiting to sync are picked up by the sweep; press Sync Now to sync at once.")
UNQUEUED_NOTE = ("This sync job could not be queued: the job queue (Redis) could not be reached. Timecards "
                 "waiting to sync are picked up by the sweep; press Sync Now again to sync at once.")
# results[LOST_KEY] marks a job given up without running ("never_started" or "unqueued"): it may still start
# (a queue entry that survived, an enqueue whose answer was lost), and then it runs.
LOST_KEY = "lost"


def was_given_up(job: SyncJob) -> bool:
    results = job.results or {}
    return bool(results.get(LOST_KEY)) or results.get("note") == NEVER_STARTED_NOTE  # rows from before LOST_KEY


def _given_up(t: Any, now: datetime, reason: str, note: str, as_error: bool) -> dict[str, Any]:
    """`as_error`: the note is the job's error too (jobs whose errors are about the job, not timecards)."""
    values: dict[str, Any] = {"status": "failed", "completed_at": now,
                              "results": t.results.op("||")(func.jsonb_build_object("note", note, LOST_KEY, reason))}
    if as_error:
        values["errors"] = cast([{"message": note, "willRetry": False}], JSONB)
    return values


async def fail_unstarted(session: AsyncSession, now: datetime, *, kind: str = "timecards",
                         note: str = NEVER_STARTED_NOTE, as_error: bool = False) -> int:
    """Jobs of `kind` still `pending` long after they were queued: Redis lost their queue entries (a restart
    loses the whole queue), so none will start them. Marked failed with a note saying so, instead of
    showing "pending" for ever. Returns how many."""
    t = _JOBS.c
    rows = await session.execute(
        update(_JOBS).where(t.status == "pending", t.kind == kind, t.created_at < now - NEVER_STARTED_AFTER)
        .values(_given_up(t, now, "never_started", note, as_error)).returning(t.id))
    return len(rows.all())


async def waiting_since(session: AsyncSession, now: datetime, *, kind: str, after: timedelta,
                        limit: int = 1000) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(job id, company id) of jobs of `kind` still `pending` `after` they were queued and not yet given up
    (fail_unstarted): their queue entry may be lost (a Redis restart), so they are queued again."""
    t = _JOBS.c
    rows = await session.execute(
        select(t.id, t.company_id).where(t.status == "pending", t.kind == kind, t.created_at < now - after,
                                         t.created_at >= now - NEVER_STARTED_AFTER)
        .order_by(t.created_at).limit(limit))
    return [(r[0], r[1]) for r in rows.all()]


async def fail_stalled(session: AsyncSession, now: datetime, *, kind: str, after: timedelta, note: str) -> int:
    """Jobs of `kind` still `running` `after` they started, past any run the queue allows (its job timeout
    cancels a job without a word to its row, and a killed worker leaves it so): failed, saying why."""
    t = _JOBS.c
    rows = await session.execute(
        update(_JOBS).where(t.status == "running", t.kind == kind, t.started_at < now - after)
        .values(status="failed", completed_at=now, errors=func.jsonb_build_array(func.jsonb_build_object("message", note)))
        .returning(t.id))
    return len(rows.all())


async def fail_unqueued(session: AsyncSession, job_id: uuid.UUID, now: datetime, *, note: str = UNQUEUED_NOTE,
                        as_error: bool = False) -> None:
    """The job's row is committed but its enqueue failed: failed at once, saying so, not `pending` until the
    sweep gives it up. A job that started meanwhile (the enqueue did reach Redis) is left alone."""
    t = _JOBS.c
    await session.execute(update(_JOBS).where(t.id == job_id, t.status == "pending")
                          .values(_given_up(t, now, "unqueued", note, as_error)))


#: A Sync Now of the whole company asks its job to re-derive the outbox first (params {"rederive": true}).
REDERIVE = "rederive"
#: The same request as jobs queued before the key was renamed wrote it ("reconcile" named the sweep's
#: re-derivation and reconciliation/ both); still read so that those jobs prepare too.
_REDERIVE_KEYS = (REDERIVE, "reconcile")


def wants_rederive(params: dict[str, Any] | None) -> bool:
    return any((params or {}).get(k) for k in _REDERIVE_KEYS)


async def prepare_once(sm: async_sessionmaker[AsyncSession], job: SyncJob, prepare: Any, now: datetime) -> None:
    """Run a Sync Now's preparation (`prepare(session, company_id, now)` -> rows re-queued) in the job
    that asked for it, once: a continuation of the job does not run it again."""
    if not wants_rederive(job.params):
        return
    async with sm() as s:
        requeued = await prepare(s, job.company_id, now)
        # Clearing the request locks the row: a second run of the same job that prepared meanwhile has
        # cleared it already, and this preparation is rolled back.
        t = _JOBS.c
        params = (await s.execute(
            update(_JOBS).where(t.id == job.id, t.params.has_any(array(_REDERIVE_KEYS)))
            .values(params=t.params.op("-")(array(_REDERIVE_KEYS)).op("||")(
                func.jsonb_build_object("requeued", requeued)))
            .returning(t.params))).scalar_one_or_none()
        if params is None:
            await s.rollback()
            return
        await s.commit()
        job.params = params


async def add_round(session: AsyncSession, job_id: uuid.UUID, *, claimed: int, summary: RoundSummary,
                    cost: tuple[int, int, int]) -> None:
    """Add one round's counts; `cost` is the round's (QBO calls, batches, retries). One UPDATE, the
    sums taken in SQL (atomic under the row's lock, whoever else adds to the row)."""
    t = _JOBS.c
    calls, batches, retries = cost
    results = t.results.op("||")(func.jsonb_build_object(
        "waiting", func.coalesce(t.results["waiting"].astext.cast(Integer), 0) + summary.waiting,
        "dead", func.coalesce(t.results["dead"].astext.cast(Integer), 0) + summary.dead))
    values: dict[str, Any] = {
        "timecards_total": t.timecards_total + claimed, "timecards_synced": t.timecards_synced + summary.synced,
        "timecards_failed": t.timecards_failed + summary.failed, "results": results,
        "qbo_calls": func.coalesce(t.qbo_calls, 0) + calls, "qbo_batches": func.coalesce(t.qbo_batches, 0) + batches,
        "qbo_retries": func.coalesce(t.qbo_retries, 0) + retries}
    if summary.errors:  # the newest MAX_ERRORS are kept
        added = func.coalesce(t.errors, cast([], JSONB)).op("||")(cast(summary.errors[-MAX_ERRORS:], JSONB))
        values["errors"] = func.jsonb_path_query_array(added, _NEWEST)
    await session.execute(update(_JOBS).where(t.id == job_id).values(values))


async def side_effects(session: AsyncSession, company_id: uuid.UUID, summary: RoundSummary, now: datetime) -> None:
    """Setup checklist and dead-letter alert (monitoring's public functions)."""
    if summary.first_sync:
        await mark_step(session, company_id, "first_timecard_synced", now=now)
    if summary.dead:
        sample = next((e["message"] for e in summary.errors if e.get("state") == "dead"), None)
        await timecards_dead_lettered(session, company_id, summary.dead, sample_error=sample, now=now)


async def finish(sm: async_sessionmaker[AsyncSession], job_id: uuid.UUID, now: datetime, *,
                 error: str | None = None, note: str | None = None, failed: bool = False) -> dict[str, Any]:
    t = _JOBS.c
    values: dict[str, Any] = {"status": "failed" if (error or failed) else "completed", "completed_at": now,
                              "started_at": func.coalesce(t.started_at, now)}
    if error or note:
        values["results"] = t.results.op("||")(func.jsonb_build_object("note", error or note))
    async with sm() as s:
        row = (await s.execute(update(_JOBS).where(t.id == job_id).values(values).returning(
            t.status, t.timecards_synced, t.timecards_failed, t.timecards_total))).first()
        await s.commit()
    if row is None:
        return {"status": "missing"}
    return {"status": row.status, "synced": row.timecards_synced, "failed": row.timecards_failed,
            "total": row.timecards_total, "note": error or note}


async def get(session: AsyncSession, job_id: uuid.UUID) -> SyncJob | None:
    return (await session.execute(select(SyncJob).where(SyncJob.id == job_id))).scalar_one_or_none()


def progress(job: SyncJob) -> int:
    if job.status in ("completed", "failed"):
        return 100
    if job.status == "pending" or not job.timecards_total:
        return 0
    done = job.timecards_synced + job.timecards_failed
    return max(0, min(99, int(done * 100 / job.timecards_total)))
