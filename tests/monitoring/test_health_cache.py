"""The route's per-process health cache: one computation at a time per company, kept for its ttl."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from qbo_integration.health.service import HealthCache


async def test_concurrent_requests_share_one_computation_and_the_answer_is_kept():
    cache: HealthCache[dict] = HealthCache(ttl=3600)
    company, other = uuid.uuid4(), uuid.uuid4()
    release = asyncio.Event()
    started = {company: asyncio.Event(), other: asyncio.Event()}
    calls: list[uuid.UUID] = []

    def computing(cid: uuid.UUID):
        async def compute() -> dict:
            calls.append(cid)
            started[cid].set()
            await release.wait()
            return {"company": str(cid), "n": len(calls)}
        return compute

    waiting = [asyncio.create_task(cache.get(company, computing(company))) for _ in range(20)]
    waiting.append(asyncio.create_task(cache.get(other, computing(other))))
    await asyncio.gather(*(e.wait() for e in started.values()))  # all 21 requests are in before any answer
    release.set()
    answers = await asyncio.gather(*waiting)
    assert sorted(map(str, calls)) == sorted([str(company), str(other)])  # once per company, not once per request
    assert all(a == answers[0] for a in answers[:20]) and answers[20]["company"] == str(other)
    assert await cache.get(company, computing(company)) == answers[0] and len(calls) == 2  # kept


async def test_a_failed_computation_is_not_kept_and_ttl_zero_is_off():
    cache: HealthCache[int] = HealthCache(ttl=3600)
    company = uuid.uuid4()

    async def boom() -> int:
        raise LookupError("company vanished")

    with pytest.raises(LookupError):
        await cache.get(company, boom)

    async def one() -> int:
        return 1

    assert await cache.get(company, one) == 1
    off: HealthCache[int] = HealthCache(ttl=0)
    calls = 0

    async def count() -> int:
        nonlocal calls
        calls += 1
        return calls

    assert [await off.get(company, count) for _ in range(3)] == [1, 2, 3]


async def test_while_a_fresh_answer_is_computed_the_others_get_the_last_one():
    cache: HealthCache[str] = HealthCache(ttl=3600)
    company = uuid.uuid4()

    async def old() -> str:
        return "old"

    assert await cache.get(company, old) == "old"
    cache._answers[company] = (0.0, "old")  # its ttl has passed
    started, release = asyncio.Event(), asyncio.Event()

    async def fresh() -> str:
        started.set()
        await release.wait()
        return "fresh"

    refreshing = asyncio.create_task(cache.get(company, fresh))
    await started.wait()
    assert await cache.get(company, fresh) == "old"  # does not wait for the database
    release.set()
    assert await refreshing == "fresh" and await cache.get(company, old) == "fresh"
