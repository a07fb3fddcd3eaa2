"""Waking a company's sync job, so that no committed outbox row is ever left waiting for the sweep.

Three Redis keys per company:

* `gen`   — bumped by every sync job when it starts. A nudge enqueues `sync:{company}:{gen}`, so a
  nudge arriving while a job runs (or while arq keeps its result) gets a *new* job id, and a
  duplicate nudge before the job starts is dropped by arq (`_job_id`).
* `dirty` — set by every nudge before it enqueues; the job clears it before each claim round and
  loops while it finds it set again.
* `lock`  — one job per company sends at a time (claims also use SKIP LOCKED, so a lock that
  expired never leads to a double send). A job that cannot take the lock leaves: the holder sees
  `dirty` and runs another round.

Why nothing is lost: a nudge sets `dirty` after its rows committed. Either the holder clears
`dirty` later (and its next claim sees the rows), or it sees `dirty` set after releasing the lock
and goes round again, or it has released the lock before the nudge's job tries it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from qbo_integration.queue import SYNC_COMPANY, JobQueue

LOCK_SECONDS = 300
FUNCTION = SYNC_COMPANY


def _k(company_id: Any, name: str) -> str:
    return f"qbo:sync:{name}:{company_id}"


async def nudge(redis: Redis, queue: JobQueue, company_id: uuid.UUID | str) -> str | None:
    """Ask for a sync job for this company (call after the outbox commit)."""
    await redis.set(_k(company_id, "dirty"), "1", ex=LOCK_SECONDS * 4)
    gen = int(await redis.get(_k(company_id, "gen")) or 0)
    return await queue.enqueue(FUNCTION, str(company_id), _job_id=f"sync:{company_id}:{gen}")


async def nudge_later(queue: JobQueue, company_id: uuid.UUID | str, at: datetime, now: datetime) -> str | None:
    """A job at `at` (scheduled retries, settle deadlines, breaker reopening); one per company per second:
    an id per minute folded a wake-up into another of the same minute, deferred later or already run
    (arq keeps a finished job's id), and the rows waited for the sweep."""
    delay = max(at - now, timedelta(seconds=1))
    slot = int(at.timestamp())
    return await queue.enqueue(FUNCTION, str(company_id), _job_id=f"sync:{company_id}:at:{slot}", _defer_by=delay)


async def begin(redis: Redis, company_id: uuid.UUID | str) -> None:
    """A job starts: later nudges must get a new job id, and whoever holds the lock goes round again
    (a deferred retry job that finds the lock taken is covered by the holder)."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(_k(company_id, "gen"))
        pipe.set(_k(company_id, "dirty"), "1", ex=LOCK_SECONDS * 4)
        await pipe.execute()


async def acquire(redis: Redis, company_id: uuid.UUID | str, token: str) -> bool:
    return bool(await redis.set(_k(company_id, "lock"), token, nx=True, ex=LOCK_SECONDS))


# Compare and act in one step (and one round trip): only the holder's token renews or releases the lock.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


async def renew(redis: Redis, company_id: uuid.UUID | str, token: str) -> None:
    await redis.eval(_RENEW, 1, _k(company_id, "lock"), token, str(LOCK_SECONDS))  # type: ignore[misc]


async def release(redis: Redis, company_id: uuid.UUID | str, token: str) -> None:
    await redis.eval(_RELEASE, 1, _k(company_id, "lock"), token)  # type: ignore[misc]


async def take_over(redis: Redis, company_id: uuid.UUID | str, token: str) -> None:
    """Take the lock of a job that left rows in flight under a lapsed lease (it died or stalled): its lock
    could last LOCK_SECONDS more. Should it wake up, it goes on without renewing or releasing ours; the
    claims' SKIP LOCKED and the leases keep two jobs from sending for one timecard."""
    await redis.set(_k(company_id, "lock"), token, ex=LOCK_SECONDS)


async def take_dirty(redis: Redis, company_id: uuid.UUID | str) -> bool:
    """Clear the flag; True if it was set."""
    return bool(await redis.delete(_k(company_id, "dirty")))


async def is_dirty(redis: Redis, company_id: uuid.UUID | str) -> bool:
    return bool(await redis.exists(_k(company_id, "dirty")))
