"""A real arq worker (in-process) with its event listener, as `qbo-integration worker` runs them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker

from qbo_integration.sync import tasks as sync_tasks
from qbo_integration.worker import registry
from qbo_integration.worker.listener import EventListener
from qbo_integration.worker.queue import QUEUE_NAME, JobQueue


@contextlib.asynccontextmanager
async def running_worker(redis_url: str, ctx: dict[str, Any], *, listen: bool = True) -> AsyncIterator[Worker]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    ctx = {**ctx, "redis": pool, "queue": JobQueue(pool)}
    worker = Worker(functions=sync_tasks.FUNCTIONS, queue_name=QUEUE_NAME, redis_pool=pool, ctx=ctx, burst=False,
                    poll_delay=0.02, max_jobs=20, handle_signals=False, keep_result=60, job_timeout=120)
    listener = EventListener(pool, functools.partial(registry.dispatch_event, worker.ctx))
    tasks = [asyncio.create_task(worker.async_run())]
    if listen:
        tasks.append(asyncio.create_task(listener.run()))
        await asyncio.wait_for(listener.subscribed.wait(), 10)
    try:
        yield worker
    finally:
        listener.stop()
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        with contextlib.suppress(Exception):
            await worker.close()
