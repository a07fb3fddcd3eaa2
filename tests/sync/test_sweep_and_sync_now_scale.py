"""Issue 17: the sweep and Sync Now do work that grows with change, not with history.

The sweep looks only at timecards Core changed since its last pass over the company (a full pass
every FULL_SWEEP_EVERY, or when Redis lost the marks); a Sync Now of the whole company re-derives
the outbox in its job, not in the request.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import text

from qbo_integration.sync import engine, service, sweep
from qbo_integration.sync.context import JobContext
from tests.support import sync as h


async def _backdate(sessionmaker, tid: uuid.UUID, days: int = 1) -> None:
    """A timecard Core last changed long ago (history), whose row went missing."""
    async with sessionmaker() as s:
        await s.execute(text("UPDATE core.timecards SET updated_at = now() - make_interval(days => :d) WHERE id = :id"),
                        {"d": days, "id": tid})
        await s.commit()


async def _age_marks(redis, company_id: uuid.UUID, hours: float) -> None:
    key = f"qbo:sync:swept:{company_id}"
    marks = {k.decode(): v.decode() for k, v in (await redis.hgetall(key)).items()}
    from datetime import datetime

    await redis.hset(key, mapping={k: (datetime.fromisoformat(v) - timedelta(hours=hours)).isoformat()
                                   for k, v in marks.items()})


async def test_a_sweep_after_a_full_pass_looks_only_at_what_core_changed(ctx, live, sessionmaker):
    _, core = live
    first = await h.add_timecard(sessionmaker, core)  # approved, its event lost
    out = await sweep.sweep(ctx)
    assert (out["changed"], out["fullPasses"]) == (1, 1)
    assert (await h.row(sessionmaker, first)) is not None

    old = await h.add_timecard(sessionmaker, core)  # lost too, but Core last touched it a day ago
    await _backdate(sessionmaker, old)
    new = await h.add_timecard(sessionmaker, core)  # lost, changed just now
    out = await sweep.sweep(ctx)
    assert (out["changed"], out["fullPasses"]) == (1, 0), out  # the incremental pass saw only `new`
    assert await h.row(sessionmaker, new) is not None and await h.row(sessionmaker, old) is None

    await _age_marks(ctx["redis"], core.company_id, hours=7)  # the last full pass is over 6 h old
    out = await sweep.sweep(ctx)
    assert (out["changed"], out["fullPasses"]) == (1, 1)
    assert await h.row(sessionmaker, old) is not None


async def test_a_timecard_deleted_from_core_is_found_by_the_full_pass_and_without_marks(ctx, live, sessionmaker,
                                                                                        sandbox):
    cc, core = live
    tid = await h.add_timecard(sessionmaker, core)
    await sweep.sweep(ctx)
    await engine.run_company_sync(ctx, core.company_id)
    assert len(await h.activities(sandbox, cc.realm_id)) == 1
    async with sessionmaker() as s:  # deleted in Core, and the event is lost
        await s.execute(text("DELETE FROM core.timecards WHERE id = :id"), {"id": tid})
        await s.commit()
    assert (await sweep.sweep(ctx))["changed"] == 0  # nothing Core changed is left to look at
    await ctx["redis"].delete(f"qbo:sync:swept:{core.company_id}")  # Redis lost the marks: a full pass
    out = await sweep.sweep(ctx)
    assert (out["changed"], out["fullPasses"]) == (1, 1)
    await engine.run_company_sync(ctx, core.company_id)
    assert await h.activities(sandbox, cc.realm_id) == []


async def test_sync_now_of_the_whole_company_leaves_the_history_to_its_job(ctx, live, sessionmaker, sandbox, clock):
    cc, core = live
    tid = await h.add_timecard(sessionmaker, core)  # approved, its event lost
    async with sessionmaker() as s:
        job = await service.request_sync(s, ctx["queue"], core.company_id, now=clock())
        await s.commit()
    assert await h.row(sessionmaker, tid) is None  # the request did not read the company's history
    assert job.params == {"timecardIds": [], "rederive": True}
    out = await engine.run_company_sync(ctx, core.company_id, job.id, "sync_now")
    assert out["status"] == "completed" and out["synced"] == 1
    [ta] = await h.activities(sandbox, cc.realm_id)
    assert (await h.row(sessionmaker, tid)).qbo_id == ta["Id"]
    [done] = await h.jobs_of(sessionmaker, core.company_id)
    assert done.params == {"timecardIds": [], "requeued": 0}  # prepared once: a continuation does not redo it


async def test_a_sync_now_queued_before_the_rename_still_rederives_the_company(ctx, live, sessionmaker, sandbox, clock):
    """Jobs queued before the params key "reconcile" became "rederive" keep asking for the preparation."""
    cc, core = live
    tid = await h.add_timecard(sessionmaker, core)  # approved, its event lost
    async with sessionmaker() as s:
        job = await service.request_sync(s, ctx["queue"], core.company_id, now=clock())
        job.params = {"timecardIds": [], "reconcile": True}  # as the previous release wrote it
        await s.commit()
    out = await engine.run_company_sync(ctx, core.company_id, job.id, "sync_now")
    assert out["status"] == "completed" and out["synced"] == 1
    assert (await h.row(sessionmaker, tid)).qbo_id == (await h.activities(sandbox, cc.realm_id))[0]["Id"]
    [done] = await h.jobs_of(sessionmaker, core.company_id)
    assert done.params == {"timecardIds": [], "requeued": 0}


async def test_a_sweep_lock_left_by_a_dead_worker_lapses_before_the_next_sweep(ctx, live, sessionmaker):
    """With sweeps every minute (the campaigns), a 600 s lock left by a worker killed mid-sweep made
    the next nine sweeps skip; after a Redis restart they are all that wakes a company."""
    _, core = live
    ctx["settings"] = ctx["settings"].model_copy(update={"sync_sweep_minutes": 1})
    assert sweep.lock_seconds(JobContext.of(ctx)) == 50
    await sweep.sweep(ctx)  # takes and releases the lock
    stale = ctx["redis"].lock(sweep.SWEEP_LOCK, timeout=sweep.lock_seconds(JobContext.of(ctx)))
    assert await stale.acquire(blocking=False)  # a worker that will die holding it
    assert 0 < await ctx["redis"].ttl(sweep.SWEEP_LOCK) <= 50
    ctx["settings"] = ctx["settings"].model_copy(update={"sync_sweep_minutes": 15})
    assert sweep.lock_seconds(JobContext.of(ctx)) == sweep.SWEEP_LOCK_SECONDS  # production: the job's timeout, 600 s
