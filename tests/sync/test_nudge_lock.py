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
