"""The job queue seen by the rest of the service. arq stays inside worker/.

Jobs enqueued during a request or job are held until the session commits
(`after_commit`), so a worker never picks up work whose rows are not there yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession

QUEUE_NAME = "qbo:queue"
_PENDING_KEY = "pending_jobs"


@dataclass
class QueuedJob:
    function: str
    args: tuple[Any, ...]
    job_id: str | None = None
    defer_by: timedelta | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


class JobQueue:
    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool

    async def enqueue(self, function: str, *args: Any, _job_id: str | None = None,
                      _defer_by: timedelta | None = None, **kwargs: Any) -> str | None:
        """Returns the job id, or None when a job with that id is already queued or running."""
        job = await self.pool.enqueue_job(function, *args, _job_id=_job_id, _defer_by=_defer_by,
                                          _queue_name=QUEUE_NAME, **kwargs)
        return job.job_id if job else None

    def after_commit(self, session: AsyncSession, function: str, *args: Any, _job_id: str | None = None,
                     _defer_by: timedelta | None = None, **kwargs: Any) -> None:
        session.info.setdefault(_PENDING_KEY, []).append(QueuedJob(function, args, _job_id, _defer_by, kwargs))

    async def flush(self, session: AsyncSession) -> None:
        """Call right after `session.commit()`."""
        pending: list[QueuedJob] = session.info.pop(_PENDING_KEY, [])
        for job in pending:
            await self.enqueue(job.function, *job.args, _job_id=job.job_id, _defer_by=job.defer_by, **job.kwargs)

    @staticmethod
    def discard(session: AsyncSession) -> None:
        session.info.pop(_PENDING_KEY, None)

    async def depth(self) -> int:
        return int(await self.pool.zcard(QUEUE_NAME))


async def commit_and_flush(session: AsyncSession, queue: JobQueue) -> None:
    """The job/request boundary: commit, then send the jobs that waited for it."""
    try:
        await session.commit()
    except BaseException:
        JobQueue.discard(session)
        raise
    await queue.flush(session)
