"""Benchmark: create TimeActivities through the QBO client's batch calls against the local sandbox.

    .venv/bin/python bench/client_batch_throughput.py [--count 3000] [--limited-count 600] [--redis URL]

Run 1, limits OFF (client limiter and sandbox limits disabled): the raw speed of client + sandbox.
Run 2, limits ON at QBO's real numbers (500 calls/60 s with each batch item counted, 40 batches/60 s,
10 in flight), shared through Redis: pacing, not speed, decides. The first 500 items go out at
once-ish (the in-process aiolimiter paces 1 item per 120 ms, so ~8/s), and from then on QBO's budget
holds every company to ≤ 500 TimeActivities per minute whatever the batching — so 3,000 would take
~6 minutes; the limited run uses a smaller count (default 300) and prints the projected time.
Prints requests/second, TimeActivities/second and QBO HTTP calls per TimeActivity.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
from redis.asyncio import Redis

from qbo_integration.qbo import BatchOp, LimitsConfig, MemoryTokenStore, QboApi, QboConfig, TokenSet
from qbo_integration.sandbox.config import SandboxConfig
from qbo_integration.sandbox.runner import SandboxServer

TA = {
    "NameOf": "Employee",
    "EmployeeRef": {"value": "1"},
    "CustomerRef": {"value": "1"},
    "ItemRef": {"value": "1"},
    "TxnDate": "2026-03-02",
    "StartTime": "2026-03-02T07:00:00-07:00",
    "EndTime": "2026-03-02T15:30:00-07:00",
    "BillableStatus": "Billable",
    "HourlyRate": 65,
}


async def run(server: SandboxServer, redis: Redis, count: int, limits_on: bool, concurrency: int) -> dict:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as admin:
        realm = (await admin.post("/_sandbox/realms", json={"sample": True})).json()["realmId"]
        await admin.put(f"/_sandbox/realms/{realm}/limits", json={"enabled": limits_on})
        tok = (await admin.post(f"/_sandbox/realms/{realm}/grants")).json()
        store = MemoryTokenStore()
        store.tokens["bench"] = TokenSet(
            access_token=tok["access_token"],
            refresh_token=tok["refresh_token"],
            access_expires_at=datetime.now(UTC) + timedelta(hours=1),
        )
        config = QboConfig.local_sandbox(
            server.base_url,
            limits=LimitsConfig(enabled=limits_on, max_wait_seconds=120),
            redis_prefix="bench",
        )
        ops = [
            BatchOp("create", payload=TA | {"Description": f"bench {i}"}, request_id=f"bench-{realm}-{i}")
            for i in range(count)
        ]
        async with QboApi(config, redis, store) as api:
            await api.limiter.reset(realm)
            client = api.company("bench", realm)
            t0 = time.perf_counter()
            results = await client.batch(ops, concurrency=concurrency)
            elapsed = time.perf_counter() - t0
            stats = client.stats
        log = (await admin.get(f"/_sandbox/realms/{realm}/log")).json()
        stored = (await admin.get(f"/_sandbox/realms/{realm}/entities/TimeActivity")).json()["items"]
    ok = sum(r.ok for r in results)
    return {
        "limits": "on" if limits_on else "off",
        "count": count,
        "ok": ok,
        "created_in_sandbox": sum(1 for r in stored if str(r.get("Description", "")).startswith("bench ")),
        "seconds": elapsed,
        "requests": stats.calls,
        "requests_per_s": stats.calls / elapsed,
        "tas_per_s": ok / elapsed,
        "http_calls_per_ta": stats.calls / max(ok, 1),
        "metered_calls_per_ta": stats.batch_items / max(ok, 1),
        "sandbox_log_entries": len(log),
        "throttled_429": sum(1 for e in log if e["status"] == 429),
        "retries": stats.retries,
    }


def show(r: dict) -> None:
    print(
        f"limits {r['limits']:>3}: {r['ok']}/{r['count']} TimeActivities created "
        f"({r['created_in_sandbox']} stored) in {r['seconds']:.2f} s | "
        f"{r['requests']} HTTP requests = {r['requests_per_s']:.1f} req/s | "
        f"{r['tas_per_s']:.1f} TimeActivities/s | {r['http_calls_per_ta']:.4f} HTTP calls per TimeActivity "
        f"({r['metered_calls_per_ta']:.2f} metered QBO calls each) | 429s: {r['throttled_429']} | "
        f"retries: {r['retries']}"
    )


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--count", type=int, default=3000)
    p.add_argument("--limited-count", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=8, help="batch requests in flight (≤ 10)")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    p.add_argument("--skip-limited", action="store_true")
    args = p.parse_args()
    redis = Redis.from_url(args.redis)
    with SandboxServer(config=SandboxConfig(sample_realms=0)) as server:
        show(await run(server, redis, args.count, False, args.concurrency))
        if not args.skip_limited:
            r = await run(server, redis, args.limited_count, True, args.concurrency)
            show(r)
            print(
                f"  limits on: QBO allows 500 calls/min per realm (each batch item is a call), so "
                f"3,000 TimeActivities need >= {3000 / 500:.0f} min whatever the batching; "
                f"at the measured {r['tas_per_s']:.1f}/s they would take {3000 / max(r['tas_per_s'], 0.01) / 60:.1f} min"
            )
    async for key in redis.scan_iter(match="bench:*"):
        await redis.delete(key)
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
