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
async def running_worker(redis_url: str, ctx: dict[str, Any], *, listen: bool = True,
                         functions: list[Any] | None = None, max_jobs: int = 20) -> AsyncIterator[Worker]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    ctx = {**ctx, "redis": pool, "queue": JobQueue(pool)}
    worker = Worker(functions=functions or sync_tasks.FUNCTIONS, queue_name=QUEUE_NAME, redis_pool=pool, ctx=ctx,
                    burst=False, poll_delay=0.02, max_jobs=max_jobs, handle_signals=False, keep_result=60,
                    job_timeout=120)
    listener = EventListener(pool, functools.partial(registry.dispatch_event, worker.ctx))
    tasks = [asyncio.create_task(worker.async_run())]
    if listen:
        tasks.append(asyncio.create_task(listener.run()))
        await asyncio.wait_for(listener.subscribed.wait(), 10)
    try:
        yield worker
    finally:
        await _shut_down(worker, listener, tasks)


async def _shut_down(worker: Worker, listener: EventListener, tasks: list[asyncio.Task], *,
                     drain_seconds: float = 120.0) -> None:
    """Stop as `qbo-integration worker` does on SIGTERM: take no new job, let in-flight ones finish, then close.

    Cancelling the worker while a job was being picked up left arq's `close()` gathering a cancelled
    job, which raised CancelledError into the test (seen on a loaded CI machine).
    """
    listener.stop()
    if len(tasks) > 1:
        tasks[1].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[1]
    worker.allow_pick_jobs = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + drain_seconds
    # A poll that began before the flag was set may still be starting jobs: wait until no job is
    # running over two poll delays in a row.
    quiet = 0
    while quiet < 2 and loop.time() < deadline:
        running = [t for t in worker.tasks.values() if not t.done()]
        if running:
            quiet = 0
            await asyncio.wait(running, timeout=max(0.1, deadline - loop.time()))
        else:
            quiet += 1
            await asyncio.sleep(worker.poll_delay_s)
    tasks[0].cancel()  # the poll loop; no job runs now
    with contextlib.suppress(asyncio.CancelledError):
        await tasks[0]
    await worker.close()
