"""A company whose timecards wait for QuickBooks (issue 31's browser tests): three whose batch QuickBooks
committed but whose answer was lost, then QuickBooks down, and one its closed books refused. Made through
the sandbox's faults and the real sync engine, run in the test's process."""

from __future__ import annotations

from datetime import timedelta

from arq import create_pool
from arq.connections import RedisSettings

from tests.support import sync as h


async def lost_answers_and_closed_books(sessionmaker, sandbox, sandbox_server, settings, redis_url, cc):
    """Three timecards whose batch QuickBooks committed but whose answer was lost, and one its books refuse."""
    from qbo_integration.sync import engine, intake

    core = await h.seed_core(sessionmaker, cc.company_id)
    await h.enable_live_sync(sessionmaker, cc.company_id)
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    clock = h.Clock()
    api = h.make_api(sandbox_server.base_url, pool, sessionmaker, settings, clock)
    ctx = h.make_ctx(sessionmaker=sessionmaker, arq_redis=pool, api=api, clock=clock, settings=settings)

    async def approve(start):
        tid = await h.add_timecard(sessionmaker, core, start=start)
        await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
        return tid

    try:
        await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/preferences",
                          json={"AccountingInfoPrefs": {"BookCloseDate": "2026-03-31"}})
        closed = await approve(h.DENVER_DAY)
        await engine.run_company_sync(ctx, cc.company_id)
        await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"commitThenDropRate": 1.0})
        lost = [await approve(h.DENVER_DAY + timedelta(days=40 + i)) for i in range(3)]
        await engine.run_company_sync(ctx, cc.company_id)
        await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"downForSeconds": 600})
    finally:
        await api.aclose()
        await pool.aclose()
    assert (await h.row(sessionmaker, closed)).state == "failed"
    assert {(await h.row(sessionmaker, t)).operation for t in lost} == {"settle"}
    return closed, lost
