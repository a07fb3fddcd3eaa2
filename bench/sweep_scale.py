"""Sweep and Sync Now against a big history: one company with N synced timecards (default 100,000),
of which 10 Core changed since the last sweep (their events lost).

Prints, for a full pass and for the incremental pass the sweep now makes between full ones, the
wall time and the rows read into Python; and how long a Sync Now request of the whole company takes
(its answer to the admin). Run against an older checkout to compare (what it lacks prints "n/a").

    .venv/bin/python bench/sweep_scale.py [--timecards 100000] [--changed 10]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import asyncpg  # noqa: E402
from history import History, seed_history  # noqa: E402
from tests import services as svc  # noqa: E402


async def seed(dsn: str, company_id: uuid.UUID, n: int, changed: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO core.companies (id, name, timezone, admin_email) VALUES ($1,$2,$3,$4)",
                           company_id, "Bench Co", "America/Denver", "admin@bench.test")
        iid, worker, project = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO integrations (id, company_id, realm_id, connection_status, connection_changed_at, enabled) "
            "VALUES ($1, $2, $3, 'connected', now(), true)", iid, company_id, f"realm-{iid.hex[:8]}")
        await conn.execute("INSERT INTO core.users (id, company_id, name) VALUES ($1, $2, 'Bench Worker')",
                           worker, company_id)
        await conn.execute("INSERT INTO core.projects (id, company_id, name) VALUES ($1, $2, 'Bench Job')",
                           project, company_id)
        took = await seed_history(conn, company_id, iid, worker, project,
                                  History(audit_rows=0, outbox_rows=n, backlog=0, runs=0))
        # History: every row synced (no pending or dead), last touched by Core when approved.
        await conn.execute("UPDATE timecard_sync_records SET state = 'synced', operation = 'none', "
                           "synced_version = 1 WHERE company_id = $1", company_id)
        await conn.execute("UPDATE core.timecards SET updated_at = approved_at WHERE company_id = $1", company_id)
        await conn.execute(
            "UPDATE core.timecards SET version = version + 1, updated_at = now(), notes = 'edited' WHERE id IN "
            "(SELECT id FROM core.timecards WHERE company_id = $1 ORDER BY approved_at DESC LIMIT $2)",
            company_id, changed)
        await conn.execute("ANALYZE")
        print(f"seeded {n:,} synced timecards with outbox rows ({changed} changed since) in {took:.1f} s")
    finally:
        await conn.close()


async def timed(sm, fn) -> tuple[float, object]:
    """Run fn(session) in a transaction that is rolled back (each measurement starts from the same data)."""
    async with sm() as s:
        t0 = time.perf_counter()
        out = await fn(s)
        ms = (time.perf_counter() - t0) * 1000
        await s.rollback()
    return ms, out


async def run(args: argparse.Namespace, ts: svc.TestServices) -> None:
    from arq import create_pool
    from arq.connections import RedisSettings

    from qbo_integration.connections.models import Integration
    from qbo_integration.db.session import make_engine, make_sessionmaker
    from qbo_integration.sync import service, sweep
    from qbo_integration.sync.models import TimecardSyncRecord
    from qbo_integration.worker.queue import JobQueue

    try:  # the full pass's candidates: in the outbox's repository, in sweep on older checkouts, or none
        from qbo_integration.sync.outbox_repository import all_candidates
    except ImportError:
        all_candidates = getattr(sweep, "all_candidates", None)

    company_id = uuid.uuid4()
    await seed(ts.database_url.replace("postgresql+asyncpg://", "postgresql://"), company_id, args.timecards,
               args.changed)
    engine = make_engine(ts.database_url, pool_size=2)
    sm = make_sessionmaker(engine)
    pool = await create_pool(RedisSettings.from_dsn(ts.redis_url))
    now = datetime.now(UTC)
    rows = []
    try:
        async with sm() as s:
            from sqlalchemy import select

            integration = (await s.execute(select(Integration).where(Integration.company_id == company_id))
                           ).scalar_one()
            s.expunge(integration)
        incremental = "updated_since" in inspect.signature(sweep.rederive_company).parameters
        for label, kw in (("full pass", {}), ("incremental pass (changes of the last 15 min)",
                                               {"updated_since": now - timedelta(minutes=15)} if incremental else None)):
            if kw is None:
                rows.append((label, "n/a (this checkout has no incremental pass)"))
                continue
            ms, changed = await timed(sm, lambda s, kw=kw: sweep.rederive_company(s, integration, now, **kw))
            if all_candidates is not None:
                _, (ids, _) = await timed(sm, lambda s, kw=kw: (
                    sweep.changed_candidates(s, company_id, None, kw["updated_since"]) if kw
                    else all_candidates(s, company_id, None)))
                read = f"{len(ids)} candidate rows"
            else:  # the old full pass loaded every approved timecard and every outbox row of the company
                read = f"{2 * args.timecards} rows (every approved timecard + every outbox row)"
            rows.append((label, f"{ms:.0f} ms, rows changed {changed}, read into Python: {read}"))
        queue = JobQueue(pool)
        times = []
        for _ in range(args.requests):
            async with sm() as s:
                t0 = time.perf_counter()
                await service.request_sync(s, queue, company_id, now=now)
                await s.flush()
                times.append((time.perf_counter() - t0) * 1000)
                await s.rollback()
        times.sort()
        rows.append(("Sync Now request, whole company", f"median {times[len(times) // 2]:.0f} ms, "
                                                        f"max {times[-1]:.0f} ms over {args.requests}"))
        async with sm() as s:
            from sqlalchemy import func

            total = (await s.execute(select(func.count()).select_from(TimecardSyncRecord))).scalar_one()
        rows.append(("outbox rows", f"{total:,}"))
    finally:
        await pool.aclose()
        await engine.dispose()
    print("\n== sweep and Sync Now with a big history")
    for k, v in rows:
        print(f"  {k:48} {v}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--timecards", type=int, default=100_000)
    ap.add_argument("--changed", type=int, default=10)
    ap.add_argument("--requests", type=int, default=5)
    args = ap.parse_args()
    ts = svc.start(Path(tempfile.mkdtemp(prefix="qbo-bench-sweep-")))
    try:
        from qbo_integration.db.migrate import upgrade

        upgrade(ts.database_url)
        asyncio.run(run(args, ts))
    finally:
        svc.stop(ts)


if __name__ == "__main__":
    main()
