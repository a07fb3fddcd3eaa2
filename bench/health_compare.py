"""Company health's cost in several source trees, same run, same data: is a change (e.g. the `waiting`
list) significant, or noise?

Seeds one fresh database once with this tree's migrations (bench/history.py's history, as
health_endpoint.py does, then live sync on), then measures each tree in turn, the order rotating every
round (A B C, B C A, ...) so machine load falls on all alike. Each measurement is a
subprocess running that tree's own code (`--tree`, with its own venv's python) in-process over ASGI with the
health cache off (HEALTH_CACHE_SECONDS=0: every call computes), and counts the SQL statements of one call.

    .venv/bin/python bench/health_compare.py --tree-as before=/work/wt-old --tree-as now=. \
        [--rows 1000000] [--rounds 6] [--requests 100] [--show-sql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def measure(args: argparse.Namespace) -> None:
    """In the tree's own interpreter: `requests` sequential calls, cache off; prints one JSON line."""
    import httpx
    from asgi_lifespan import LifespanManager
    from sqlalchemy import event

    from qbo_integration.api.auth import mint_token
    from qbo_integration.app import create_app
    from qbo_integration.config import Settings

    settings = Settings(QBOI_ENV="test", DATABASE_URL=args.database_url, REDIS_URL=args.redis_url, LOG_LEVEL="WARNING",
                        HEALTH_CACHE_SECONDS=0)
    company_id = uuid.UUID(args.company)
    token = mint_token(settings, company_id=company_id, role="admin")
    app = create_app(settings)
    statements: list[str] = []
    async with LifespanManager(app, startup_timeout=60) as manager:
        event.listen(app.state.engine.sync_engine, "before_cursor_execute",
                     lambda _c, _cur, sql, *_a: statements.append(sql))
        url, params = "/api/v1/integrations/quickbooks/health", {"companyId": str(company_id)}
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://bench") as client:
            for _ in range(args.warmup):
                (await client.get(url, params=params, headers=headers)).raise_for_status()
            statements.clear()
            first = await client.get(url, params=params, headers=headers)
            per_call = list(statements)
            times, cpu = [], []
            for _ in range(args.requests):
                t, c = time.perf_counter(), time.process_time()
                r = await client.get(url, params=params, headers=headers)
                times.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)  # this process only: less sensitive to others' load
                assert r.status_code == 200, r.text
    body = first.json()
    print(json.dumps({"times": times, "cpu": cpu, "statements": len(per_call), "sql": [" ".join(q.split())[:90] for q in per_call], "waiting": body.get("waiting"),
                      "pending": body.get("pendingTimecards")}))


def seed_once(rows: int) -> tuple[object, str]:
    from health_endpoint import seed
    from tests import services as svc

    from qbo_integration.db.migrate import upgrade

    ts = svc.start(Path(tempfile.mkdtemp(prefix="qbo-bench-compare-")))
    upgrade(ts.database_url)
    company = uuid.uuid4()
    dsn = ts.database_url.replace("postgresql+asyncpg://", "postgresql://")
    asyncio.run(seed(dsn, company, rows))
    asyncio.run(_live(dsn, company))
    return ts, str(company)


async def _live(dsn: str, company: uuid.UUID) -> None:
    """Live sync on, as a company whose timecards go to QuickBooks has it (its open rows wait for a reason)."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE integrations SET enabled = true WHERE company_id = $1", company)
    finally:
        await conn.close()


def run_tree(tree: Path, ts: object, company: str, args: argparse.Namespace) -> dict:
    python = tree / ".venv" / "bin" / "python"
    cmd = [str(python), str(Path(__file__).resolve()), "--measure", "--tree", str(tree), "--company", company,
           "--database-url", ts.database_url, "--redis-url", ts.redis_url,  # type: ignore[attr-defined]
           "--requests", str(args.requests), "--warmup", str(args.warmup)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600, cwd=tree)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree-as", action="append", default=[], metavar="NAME=PATH",
                    help="a source tree with its own .venv (repeat; default: this tree alone)")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--measure", action="store_true")
    ap.add_argument("--tree", type=Path)
    ap.add_argument("--company")
    ap.add_argument("--database-url")
    ap.add_argument("--redis-url")
    ap.add_argument("--show-sql", action="store_true", help="print each tree's statements of one call")
    args = ap.parse_args()
    if args.measure:  # the tree's own code, ahead of anything else on the path
        sys.path[:0] = [str(args.tree / "src"), str(args.tree)]
        asyncio.run(measure(args))
        return
    sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "bench")]
    from tests import services as svc

    ts, company = seed_once(args.rows)
    try:
        named = [t.split("=", 1) for t in args.tree_as] or [["this", str(ROOT)]]
        trees = {name: Path(path).resolve() for name, path in named}
        got: dict[str, list[float]] = {k: [] for k in trees}
        cpu: dict[str, list[float]] = {k: [] for k in trees}
        order = list(trees.items())
        for n in range(args.rounds):
            for name, tree in order[n % len(order):] + order[:n % len(order)]:
                res = run_tree(tree, ts, company, args)
                got[name] += res["times"]
                cpu[name] += res["cpu"]
                load = os.getloadavg()[0]
                print(f"round {n + 1} {name}: p50 {pct(res['times'], 50):.1f} ms, p95 {pct(res['times'], 95):.1f} ms, "
                      f"API CPU p50 {pct(res['cpu'], 50):.2f} ms, {res['statements']} SQL statements a call, "
                      f"load {load:.1f}"
                      + (f", waiting {[(w['reason'], w['count']) for w in res['waiting']]}" if res["waiting"] else ""),
                      flush=True)
                if args.show_sql and n < 2:
                    print("\n".join(f"    {q}" for q in res["sql"]))
        for name, times in got.items():
            print(f"{name} ({trees[name]}): {len(times)} calls, p50 {pct(times, 50):.1f} ms, p95 {pct(times, 95):.1f} ms, "
                  f"mean {statistics.fmean(times):.1f} ms; API process CPU a call p50 {pct(cpu[name], 50):.2f} ms, "
                  f"mean {statistics.fmean(cpu[name]):.2f} ms")
    finally:
        svc.stop(ts)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
