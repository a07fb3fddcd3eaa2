"""The sync job of one company (the arq job body): take the company's lock, run its rounds (rounds.py),
hand over to a continuation job when the budget is spent, and ask for the next wake-up (wakeups.py).

One job per company sends at a time (nudge.acquire). A job that finds the lock taken merges into the
running job (its dirty flag), unless that job left rows whose lease lapsed: then it takes over.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from qbo_integration import logs
from qbo_integration.sync import jobs, nudge, wakeups
from qbo_integration.sync.context import JobContext
from qbo_integration.sync.rounds import CompanySync

logger = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 300.0  # a Sync Now job waits this long for a running job of its company (> its budget)


async def continue_later(ctx: JobContext, company_id: uuid.UUID, sync_job_id: uuid.UUID) -> None:
    """The budget is spent and rows are still due: the same sync_jobs row goes on in a new arq job."""
    logger.info("sync job continues in a new job", extra=logs.log_fields(job_id=sync_job_id))
    await ctx.queue.enqueue(nudge.FUNCTION, str(company_id), str(sync_job_id),
                               _job_id=f"sync:{company_id}:cont:{uuid.uuid4().hex}")


async def run_company_sync(job_ctx: dict[str, Any] | JobContext, company_id: uuid.UUID,
                           sync_job_id: uuid.UUID | None = None, trigger: str = "event") -> dict[str, Any]:
    """The arq job body. Returns a small summary (also stored on the sync_jobs row)."""
    ctx = JobContext.of(job_ctx)
    redis = ctx.redis
    await nudge.begin(redis, company_id)
    token = uuid.uuid4().hex
    if not await nudge.acquire(redis, company_id, token):
        if sync_job_id is None:
            if not await wakeups.holder_gone(ctx, company_id):
                return {"status": "merged"}  # the running job goes round again (dirty flag)
            await nudge.take_over(redis, company_id, token)
        else:
            waited = 0.0
            while not await nudge.acquire(redis, company_id, token):
                if waited > LOCK_WAIT_SECONDS:
                    await jobs.finish(ctx.sessionmaker, sync_job_id, ctx.clock(),
                                      error="Another sync job of this company is still running; try again shortly")
                    return {"status": "failed"}
                await asyncio.sleep(0.2)
                waited += 0.2
    job = await jobs.start(ctx.sessionmaker, company_id, sync_job_id, trigger, ctx.clock())
    if job is None:
        await nudge.release(redis, company_id, token)
        return {"status": "no_integration"}
    with logs.log_context(company_id=company_id, job_id=job.id):
        sync = CompanySync(ctx, company_id, job)
        sync.lock_token = token
        try:
            try:
                await sync.load()
                await jobs.prepare_once(ctx.sessionmaker, job, sync.prepare_company, ctx.clock())
            except BaseException:
                await nudge.release(redis, company_id, token)
                raise
            while True:
                try:
                    await sync.run()
                finally:
                    await nudge.release(redis, company_id, token)
                if sync.stop_reason or sync.continue_later or not await nudge.is_dirty(redis, company_id):
                    break
                if not await nudge.acquire(redis, company_id, token):
                    break  # another job took over
            if sync.continue_later:
                await continue_later(ctx, company_id, job.id)
                return {"status": "continuing", "jobId": str(job.id)}
            await wakeups.schedule_retries(ctx, company_id, next_due=sync.next_due, paused=sync.paused)
        except Exception as exc:
            logger.exception("sync job failed")
            await jobs.finish(ctx.sessionmaker, job.id, ctx.clock(), error=f"Sync job failed: {exc}")
            raise
        status = await jobs.finish(ctx.sessionmaker, job.id, ctx.clock(), note=sync.stop_reason,
                                   failed=sync.stop_reason is not None and sync.client is None)
    return status
