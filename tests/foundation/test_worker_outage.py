"""A Redis restart no longer stops the worker (worker/outage.py): it polls again once Redis answers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError

from qbo_integration.worker.outage import OutageTolerantWorker
from tests.private_redis import PrivateRedis

RAN: dict[str, asyncio.Event] = {}


def _tag(tag: str) -> asyncio.Event:
    return RAN.setdefault(tag, asyncio.Event())


async def note(ctx: dict[str, Any], tag: str) -> None:
    _tag(tag).set()


async def _ran(tag: str, timeout: float = 30.0) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_tag(tag).wait(), timeout)
    return _tag(tag).is_set()


async def _enqueue(url: str, tag: str) -> None:
    pool = await create_pool(RedisSettings.from_dsn(url))
    try:
        await pool.enqueue_job("note", tag)
    finally:
        await pool.aclose()


@contextlib.asynccontextmanager
async def _worker(cls: type[Worker], redis: PrivateRedis) -> AsyncIterator[tuple[Worker, asyncio.Task]]:
    worker = cls(functions=[note], redis_settings=RedisSettings.from_dsn(redis.url), poll_delay=0.05,
                 handle_signals=False, burst=False)
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker, task
    finally:
        worker.allow_pick_jobs = False
        running = [t for t in worker.tasks.values() if not t.done()]
        if running:  # a job still finishing (its result being stored) must not be cancelled by close()
            await asyncio.wait(running, timeout=10)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        with contextlib.suppress(Exception):
            await worker.close()


@pytest.fixture
def own_redis(tmp_path):
    r = PrivateRedis(tmp_path)
    yield r
    r.stop()


async def _one_job_then_a_restart(redis: PrivateRedis) -> None:
    RAN.clear()
    await _enqueue(redis.url, "before")
    assert await _ran("before")
    await asyncio.to_thread(redis.stop)
    await asyncio.sleep(1.5)  # polls fail meanwhile
    await asyncio.to_thread(redis.start)


async def test_the_worker_polls_on_after_a_redis_restart(own_redis):
    async with _worker(OutageTolerantWorker, own_redis) as (worker, task):
        await _one_job_then_a_restart(own_redis)
        await _enqueue(own_redis.url, "after")
        assert await _ran("after"), "the worker took no job after Redis came back"
        assert not task.done()
        assert worker.outages >= 1  # the restart was seen, and survived
        assert worker.pause == 0.0  # and the worker knows Redis answers again


async def test_arq_s_own_worker_stops_on_a_redis_restart(own_redis):
    """Why OutageTolerantWorker exists: the same restart ends arq's poll loop with a connection error."""
    async with _worker(Worker, own_redis) as (_, task):
        await _one_job_then_a_restart(own_redis)
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(task, 30)


async def test_a_connection_lost_inside_a_watch_is_an_outage_too(own_redis, monkeypatch):
    """redis-py reports a connection dropped during start_jobs' WATCH as a WatchError, not a ConnectionError:
    a worker of the operations campaign exited on it after a Redis restart."""
    from redis.exceptions import WatchError

    failures = iter([WatchError("A ConnectionError occurred on while watching one or more keys")])
    real = Worker._poll_iteration

    async def poll_once_failing(self: Worker) -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        await real(self)

    monkeypatch.setattr(Worker, "_poll_iteration", poll_once_failing)
    RAN.clear()
    async with _worker(OutageTolerantWorker, own_redis) as (worker, task):
        await _enqueue(own_redis.url, "after")
        assert await _ran("after") and not task.done()
        assert worker.outages == 1
