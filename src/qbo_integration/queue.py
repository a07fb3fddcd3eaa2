"""The job queue seen by the rest of the service, the job names, and the cron schedules domains ask for.

arq stays inside worker/: `JobQueue` only calls the pool it is given (`enqueue_job`, `zcard`), and a domain describes a cron job as plain data (`CronSchedule`) that
worker/registry.py turns into arq's cron job.

Jobs enqueued during a request or job are held until the session commits
(`after_commit`), so a worker never picks up work whose rows are not there yet.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger(__name__)

QUEUE_NAME = "qbo:queue"
_PENDING_KEY = "pending_jobs"

# Job names: the worker registers functions of these names (worker/registry.py checks it).
SYNC_COMPANY = "sync_company"
IMPORT_DIRECTORY = "import_directory"
DELIVER_ALERTS = "deliver_alerts"
EXPORT_UNSYNCED = "export_unsynced"
RECONCILE_COMPANY = "reconcile_company"
PROCESS_WEBHOOK_EVENTS = "process_webhook_events"
JOB_NAMES = (SYNC_COMPANY, IMPORT_DIRECTORY, DELIVER_ALERTS, EXPORT_UNSYNCED, RECONCILE_COMPANY, PROCESS_WEBHOOK_EVENTS)


@dataclass(frozen=True)
class CronSchedule:
    """A cron job a domain asks the worker to run (the fields mean what arq's `cron()` arguments mean)."""

    coroutine: Callable[..., Awaitable[Any]]
    hour: int | set[int] | None = None
    minute: int | set[int] | None = None
    second: int | set[int] | None = 0
    run_at_startup: bool = False
    unique: bool = True
    timeout: int | None = None


@dataclass
class QueuedJob:
    function: str
    args: tuple[Any, ...]
    job_id: str | None = None
    defer_by: timedelta | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    # Run (then committed) when this job could not be enqueued: e.g. mark its job row failed.
    if_unqueued: Callable[[AsyncSession], Awaitable[None]] | None = None


class JobQueue:
    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def enqueue(self, function: str, *args: Any, _job_id: str | None = None,
                      _defer_by: timedelta | None = None, **kwargs: Any) -> str | None:
        """Returns the job id, or None when a job with that id is already queued or running."""
        job = await self.pool.enqueue_job(function, *args, _job_id=_job_id, _defer_by=_defer_by,
                                          _queue_name=QUEUE_NAME, **kwargs)
        return job.job_id if job else None

    def after_commit(self, session: AsyncSession, function: str, *args: Any, _job_id: str | None = None,
                     _defer_by: timedelta | None = None,
                     _if_unqueued: Callable[[AsyncSession], Awaitable[None]] | None = None, **kwargs: Any) -> None:
        session.info.setdefault(_PENDING_KEY, []).append(
            QueuedJob(function, args, _job_id, _defer_by, kwargs, _if_unqueued))

    async def flush(self, session: AsyncSession) -> None:
        """Call right after `session.commit()`. When an enqueue fails (Redis down), the `if_unqueued` of that
        job and of the ones not tried yet run in `session` and are committed; then the error goes on."""
        pending: list[QueuedJob] = session.info.pop(_PENDING_KEY, [])
        for i, job in enumerate(pending):
            try:
                await self.enqueue(job.function, *job.args, _job_id=job.job_id, _defer_by=job.defer_by, **job.kwargs)
            except Exception:
                await _undo_unqueued(session, pending[i:])
                raise

    @staticmethod
    def discard(session: AsyncSession) -> None:
        session.info.pop(_PENDING_KEY, None)

    async def depth(self) -> int:
        return int(await self.pool.zcard(QUEUE_NAME))


async def _undo_unqueued(session: AsyncSession, jobs: list[QueuedJob]) -> None:
    undo = [j.if_unqueued for j in jobs if j.if_unqueued is not None]
    if not undo:
        return
    try:
        for step in undo:
            await step(session)
        await session.commit()
    except Exception:  # noqa: BLE001 - the enqueue's error is the one to report; the sweep gives the jobs up later
        logger.warning("could not record jobs that were not queued", exc_info=True)
        await session.rollback()


async def commit_and_flush(session: AsyncSession, queue: JobQueue) -> None:
    """The job/request boundary: commit, then send the jobs that waited for it."""
    try:
        await session.commit()
    except BaseException:
        JobQueue.discard(session)
        raise
    await queue.flush(session)
