"""The company lock of nudge.py on real Redis: only the holder's token renews or releases it."""

from __future__ import annotations

import uuid

from qbo_integration.sync import nudge


async def test_only_the_holder_renews_the_lock(redis):
    company = uuid.uuid4()
    key = nudge._k(company, "lock")
    assert await nudge.acquire(redis, company, "mine")
    await redis.expire(key, 5)
    await nudge.renew(redis, company, "theirs")
    assert await redis.ttl(key) <= 5
    await nudge.renew(redis, company, "mine")
    assert await redis.ttl(key) > nudge.LOCK_SECONDS - 5


async def test_only_the_holder_releases_the_lock(redis):
    company = uuid.uuid4()
    assert await nudge.acquire(redis, company, "mine")
    await nudge.release(redis, company, "theirs")
    assert not await nudge.acquire(redis, company, "other")
    await nudge.release(redis, company, "mine")
    assert await nudge.acquire(redis, company, "other")


async def test_begin_bumps_the_generation_and_marks_the_company_dirty(redis):
    company = uuid.uuid4()
    await nudge.begin(redis, company)
    await nudge.begin(redis, company)
    assert int(await redis.get(nudge._k(company, "gen"))) == 2
    assert await nudge.take_dirty(redis, company)
    assert not await nudge.is_dirty(redis, company)


class _TakenBetweenCalls:
    """A Redis client on which another job takes the lock right after each GET answers."""

    def __init__(self, redis) -> None:
        self.redis = redis

    async def get(self, key):
        value = await self.redis.get(key)
        await self.redis.set(key, "theirs", ex=5)
        return value

    def __getattr__(self, name):
        return getattr(self.redis, name)


async def test_renewing_never_extends_a_lock_another_job_took_meanwhile(redis):
    """The renewal used to GET the token, then EXPIRE: a lock that lapsed and was taken in between got
    the old holder's 300 s."""
    company = uuid.uuid4()
    key = nudge._k(company, "lock")
    assert await nudge.acquire(redis, company, "mine")
    await nudge.renew(_TakenBetweenCalls(redis), company, "mine")
    holder, ttl = await redis.get(key), await redis.ttl(key)
    assert holder == b"mine" or ttl <= 5, f"{holder!r}'s lock was extended to {ttl} s by another job"
