"""arq's side of the job queue: opening a pool. The queue itself is qbo_integration/queue.py
(re-exported here for the old import path)."""

from __future__ import annotations

from typing import Any

from arq import create_pool
from arq.connections import RedisSettings

from qbo_integration.queue import QUEUE_NAME, JobQueue, QueuedJob, commit_and_flush

__all__ = ["QUEUE_NAME", "JobQueue", "QueuedJob", "commit_and_flush", "open_pool", "redis_settings"]


def redis_settings(redis_url: str) -> RedisSettings:
    return RedisSettings.from_dsn(redis_url)


async def open_pool(redis_url: str) -> Any:
    """An arq pool of this process's own (the API; the tests). The caller closes it (`await pool.aclose()`)."""
    return await create_pool(redis_settings(redis_url))
