"""How fast is GET …/health with a big history?

Creates a fresh database (tests/services.py: local PostgreSQL/Redis, else embedded), seeds one company with
bench/history.py's history (1,000,000 audit rows over ~80 days, 5 % failures; 50,000 timecards with outbox
rows; 100 approved with none yet; 2,000 sync runs) and 100,000 audit rows of another company, ANALYZEs, then calls the endpoint in-process over ASGI
(httpx ASGITransport: auth, validation, every query, JSON) and prints p50 / p95 / p99.
The issue requires p95 < 50 ms.

    .venv/bin/python bench/health_endpoint.py [--rows 1000000] [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from asgi_lifespan import LifespanManager  # noqa: E402
from history import History, seed_history  # noqa: E402
from tests import services as svc  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def seed(dsn: str, company_id: uuid.UUID, rows: int) -> None:
    other_company = uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        t0 = time.perf_counter()
        for cid, name, history in ((company_id, "Bench Co", History(audit_rows=rows)),
                                   (other_company, "Other Co", History(audit_rows=rows // 10, outbox_rows=0,
                                                                       backlog=0, runs=0))):
            await conn.execute("INSERT INTO core.companies (id, name, timezone, admin_email) VALUES ($1,$2,$3,$4)",
                               cid, name, "America/Denver", "admin@bench.test")
            iid, worker, project = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            await conn.execute(
                "INSERT INTO integrations (id, company_id, realm_id, connection_status, connection_changed_at) "
                "VALUES ($1, $2, $3, 'connected', now())", iid, cid, f"realm-{iid.hex[:8]}")
            await conn.execute("INSERT INTO core.users (id, company_id, name) VALUES ($1, $2, 'Bench Worker')",
                               worker, cid)
            await conn.execute("INSERT INTO core.projects (id, company_id, name) VALUES ($1, $2, 'Bench Job')",
                               project, cid)
            await seed_history(conn, cid, iid, worker, project, history)
        await conn.execute("ANALYZE")
        total = await conn.fetchval("SELECT count(*) FROM integration_audit_log")
        print(f"seeded {total:,} audit rows in {time.perf_counter() - t0:.1f} s")
        checks = {
            "errorsLast24h (bounded)": "SELECT count(*) FROM (SELECT id FROM integration_audit_log WHERE company_id=$1 "
                                       "AND created_at >= now() - interval '24 hours' AND status='failure' LIMIT 10000) s",
            "syncedToday": "SELECT count(*) FROM timecard_sync_records WHERE company_id=$1 AND state='synced' "
                           "AND synced_at >= date_trunc('day', now())",
            "states": "SELECT state, count(*) FROM timecard_sync_records WHERE company_id=$1 "
                      "AND state IN ('pending','in_flight','failed','dead') GROUP BY state",
        }
        for name, sql in checks.items():
            plan = [r[0] for r in await conn.fetch("EXPLAIN (ANALYZE) " + sql, company_id)]
            took = next((line for line in plan if line.startswith("Execution Time")), "?")
            index = next((line.strip() for line in plan if "Index" in line), "no index scan")
            print(f"  {name}: {took}; {index[:90]}")
    finally:
        await conn.close()


async def run(args: argparse.Namespace, ts: svc.TestServices) -> None:
    from qbo_integration.api.auth import mint_token
    from qbo_integration.app import create_app
    from qbo_integration.config import Settings

    company_id = uuid.uuid4()
    await seed(ts.database_url.replace("postgresql+asyncpg://", "postgresql://"), company_id, args.rows)
    settings = Settings(QBOI_ENV="test", DATABASE_URL=ts.database_url, REDIS_URL=ts.redis_url, LOG_LEVEL="WARNING")
    token = mint_token(settings, company_id=company_id, role="admin")
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            params = {"companyId": str(company_id)}
            headers = {"Authorization": f"Bearer {token}"}
            first = await client.get("/api/v1/integrations/quickbooks/health", params=params, headers=headers)
            first.raise_for_status()
            body = first.json()
            print(f"status={body['status']} errorsLast24h={body['errorsLast24h']} syncedToday={body['syncedToday']} "
                  f"pending={body['pendingTimecards']} dead={body['deadLettered']} runs={len(body['recentRuns'])}")
            for _ in range(args.warmup):
                await client.get("/api/v1/integrations/quickbooks/health", params=params, headers=headers)
            times = []
            for _ in range(args.requests):
                t = time.perf_counter()
                r = await client.get("/api/v1/integrations/quickbooks/health", params=params, headers=headers)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
    print(f"GET /health x{args.requests}: p50 {pct(times, 50):.1f} ms, p95 {pct(times, 95):.1f} ms, "
          f"p99 {pct(times, 99):.1f} ms, max {max(times):.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    args = ap.parse_args()
    ts = svc.start(Path(tempfile.mkdtemp(prefix="qbo-bench-health-")))
    try:
        from qbo_integration.db.migrate import upgrade

        upgrade(ts.database_url)
        asyncio.run(run(args, ts))
    finally:
        svc.stop(ts)


if __name__ == "__main__":
    main()
