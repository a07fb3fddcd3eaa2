"""Concurrent reconciles of one company's timecards in different orders (a Sync Now naming some while a
job reconciles the whole company, two admins' Sync Nows) used to deadlock in PostgreSQL: the operations
campaign's Sync Now answered 500 "deadlock detected". They now take the rows in one order."""

from __future__ import annotations

import asyncio
import os
import random

from sqlalchemy.exc import DBAPIError

from qbo_integration.connections.service import get_integration
from qbo_integration.sync import sweep
from tests.support import sync as h


async def test_reconciles_in_any_order_at_once_never_deadlock(live, sessionmaker):
    seed = int(os.environ.get("LOCK_ORDER_SEED") or random.randrange(1 << 30))
    print(f"LOCK_ORDER_SEED={seed}")
    rng = random.Random(seed)
    cc, core = live
    tids = [await h.add_timecard(sessionmaker, core, notes=f"tc {i}") for i in range(12)]

    async def reconcile(ids: list) -> str:
        async with sessionmaker() as s:
            integration = await get_integration(s, cc.company_id)
            try:
                await sweep.rederive_company(s, integration, h.Clock()(), ids)
                await asyncio.sleep(0.02)  # hold the locks a moment, as a request does
                await s.commit()
            except DBAPIError as exc:
                return type(exc.orig).__name__ + ": " + str(exc.orig).splitlines()[0]
        return "ok"

    outcomes = []
    for _ in range(4):
        batches = [rng.sample(tids, 8) for _ in range(6)]
        outcomes += await asyncio.gather(*(reconcile(b) for b in batches))
    assert outcomes == ["ok"] * len(outcomes), f"seed {seed}: {[o for o in outcomes if o != 'ok'][:3]}"
