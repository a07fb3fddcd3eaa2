"""End to end: events over real Redis pub/sub → real arq workers → the sandbox over HTTP."""

from __future__ import annotations

from datetime import timedelta

from qbo_integration.core_platform.events import channel
from qbo_integration.sync.models import TimecardSyncRecord
from tests.support import sync as h
from tests.sync.worker_harness import running_worker


async def _publish(redis, core, tid, name="timecard.approved", version=1) -> None:
    ev = h.event(name, core, tid, version)
    await redis.publish(channel(name), h.event_json(ev))


async def test_published_events_reach_qbo_once_through_a_worker(ctx, live, sessionmaker, sandbox, redis, redis_url):
    cc, core = live
    async with running_worker(redis_url, ctx):
        tids = [await h.add_timecard(sessionmaker, core, start=h.DENVER_DAY + timedelta(days=i)) for i in range(5)]
        for tid in tids:
            await _publish(redis, core, tid)
            await _publish(redis, core, tid)  # duplicate delivery (another eventId)

        async def all_synced():
            rows = [await h.row(sessionmaker, t) for t in tids]
            return all(r is not None and r.state == "synced" for r in rows)

        await h.wait_for(all_synced)
        assert len(await h.activities(sandbox, cc.realm_id)) == 5
        # edit after sync → the same record updated; unapprove → deleted
        v2 = await h.change_timecard(sessionmaker, tids[0], notes="changed on site")
        await _publish(redis, core, tids[0], "timecard.updated", v2)
        v2b = await h.change_timecard(sessionmaker, tids[1], status="submitted")
        await _publish(redis, core, tids[1], "timecard.unapproved", v2b)

        async def settled():
            a, b = await h.row(sessionmaker, tids[0]), await h.row(sessionmaker, tids[1])
            return a.synced_version == v2 and a.state == "synced" and b.qbo_id is None and b.state == "synced"

        await h.wait_for(settled)
    tas = {t["Id"]: t for t in await h.activities(sandbox, cc.realm_id)}
    assert len(tas) == 4
    first: TimecardSyncRecord = await h.row(sessionmaker, tids[0])
    assert tas[first.qbo_id]["Description"] == "changed on site"


async def test_two_workers_racing_on_one_company(ctx, live, sessionmaker, sandbox, redis, redis_url, api, clock,
                                                 arq_redis, settings):
    cc, core = live
    other = h.make_ctx(sessionmaker=sessionmaker, arq_redis=arq_redis, api=api, clock=clock, settings=settings,
                       worker="worker-b")
    async with running_worker(redis_url, ctx), running_worker(redis_url, other):
        tids = [await h.add_timecard(sessionmaker, core, start=h.DENVER_DAY + timedelta(days=i)) for i in range(40)]
        for tid in tids:
            await _publish(redis, core, tid)

        async def all_synced():
            rows = [await h.row(sessionmaker, t) for t in tids]
            return all(r is not None and r.state == "synced" for r in rows)

        await h.wait_for(all_synced, timeout=180)
    tas = await h.activities(sandbox, cc.realm_id)
    assert len(tas) == 40
    assert sorted(t["Id"] for t in tas) == sorted([(await h.row(sessionmaker, t)).qbo_id for t in tids])
