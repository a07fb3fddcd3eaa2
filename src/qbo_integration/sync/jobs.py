"""The sync_jobs row of a run: counts, errors, and the cost in QBO calls, batches and retries."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.monitoring.notify import timecards_dead_lettered
from qbo_integration.monitoring.setup import mark_step
from qbo_integration.sync.integrations import get_integration
from qbo_integration.sync.models import SyncJob
from qbo_integration.sync.writeback import RoundSummary

logger = logging.getLogger(__name__)
MAX_ERRORS = 200


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
        job = await s.get(SyncJob, job_id) if job_id else None
        if job is None:
            integration = await get_integration(s, company_id)
            if integration is None:
                return None
            job = await create(s, integration.id, company_id, trigger)
        job.status = "running"
        job.started_at = job.started_at or now
        await s.commit()
        return job


async def prepare_once(sm: async_sessionmaker[AsyncSession], job: SyncJob, prepare: Any, now: datetime) -> None:
    """Run a Sync Now's preparation (`prepare(session, company_id, now)` -> rows re-queued) in the job
    that asked for it, once: a continuation of the job does not run it again."""
    if not (job.params or {}).get("reconcile"):
        return
    async with sm() as s:
        row = await s.get(SyncJob, job.id, with_for_update=True)
        if row is None or not (row.params or {}).get("reconcile"):
            return
        requeued = await prepare(s, job.company_id, now)
        row.params = {**{k: v for k, v in row.params.items() if k != "reconcile"}, "requeued": requeued}
        await s.commit()
        job.params = row.params


async def add_round(session: AsyncSession, job_id: uuid.UUID, *, claimed: int, summary: RoundSummary,
                    cost: tuple[int, int, int]) -> None:
    """Add one round's counts; `cost` is the round's (QBO calls, batches, retries)."""
    job = await session.get(SyncJob, job_id, with_for_update=True)
    if job is None:
        return
    job.timecards_total += claimed
    job.timecards_synced += summary.synced
    job.timecards_failed += summary.failed
    if summary.errors:
        job.errors = (list(job.errors or []) + summary.errors)[-MAX_ERRORS:]
    results = dict(job.results or {})
    results["waiting"] = int(results.get("waiting", 0)) + summary.waiting
    results["dead"] = int(results.get("dead", 0)) + summary.dead
    job.results = results
    calls, batches, retries = cost
    job.qbo_calls = (job.qbo_calls or 0) + calls
    job.qbo_batches = (job.qbo_batches or 0) + batches
    job.qbo_retries = (job.qbo_retries or 0) + retries


async def side_effects(session: AsyncSession, company_id: uuid.UUID, summary: RoundSummary, now: datetime) -> None:
    """Setup checklist and dead-letter alert (monitoring's public functions)."""
    if summary.first_sync:
        await mark_step(session, company_id, "first_timecard_synced", now=now)
    if summary.dead:
        sample = next((e["message"] for e in summary.errors if e.get("state") == "dead"), None)
        await timecards_dead_lettered(session, company_id, summary.dead, sample_error=sample, now=now)


async def finish(sm: async_sessionmaker[AsyncSession], job_id: uuid.UUID, now: datetime, *,
                 error: str | None = None, note: str | None = None, failed: bool = False) -> dict[str, Any]:
    async with sm() as s:
        job = await s.get(SyncJob, job_id, with_for_update=True)
        if job is None:
            return {"status": "missing"}
        job.status = "failed" if (error or failed) else "completed"
        job.completed_at = now
        job.started_at = job.started_at or now
        if error or note:
            results = dict(job.results or {})
            results["note"] = error or note
            job.results = results
        await s.commit()
        return {"status": job.status, "synced": job.timecards_synced, "failed": job.timecards_failed,
                "total": job.timecards_total, "note": error or note}


async def get(session: AsyncSession, job_id: uuid.UUID) -> SyncJob | None:
    return (await session.execute(select(SyncJob).where(SyncJob.id == job_id))).scalar_one_or_none()


def progress(job: SyncJob) -> int:
    if job.status in ("completed", "failed"):
        return 100
    if job.status == "pending" or not job.timecards_total:
        return 0
    done = job.timecards_synced + job.timecards_failed
    return max(0, min(99, int(done * 100 / job.timecards_total)))
