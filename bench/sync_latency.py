"""Latency: from publishing `timecard.approved` to the TimeActivity existing in the sandbox.

One company, a real `qbo-integration worker` subprocess, events over Redis pub/sub, timecards
approved at a steady rate (Core's way: version + 1, then the event). The sandbox is polled every
`--poll` seconds; a TimeActivity is found by its Description (the timecard's note). Goal: p95 < 5 s.

    .venv/bin/python bench/sync_latency.py                   # 200 timecards at 4/s, QBO-like latency
    .venv/bin/python bench/sync_latency.py --no-latency      # a sandbox answering at once
"""

from __future__ import annotations

import asyncio
import time

from common import QBO_LATENCY, Stack, arg_parser, bench_tag, log, machine, percentile, print_table, run

GOAL_P95 = 5.0


async def main() -> None:
    p = arg_parser(__doc__ or "")
    p.add_argument("--timecards", type=int, default=None)
    p.add_argument("--rate", type=float, default=4.0, help="approvals published per second")
    p.add_argument("--poll", type=float, default=0.1, help="sandbox polling interval, seconds")
    p.add_argument("--no-latency", action="store_true", help="no simulated QBO latency in the sandbox")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait after the last approval")
    p.add_argument("--sandbox-url", default=None, help="use a running sandbox (default: one in this process)")
    args = p.parse_args()
    n = args.timecards or (50 if args.small else 200)
    local = None
    if args.sandbox_url is None:
        from qbo_integration.sandbox.config import SandboxConfig
        from qbo_integration.sandbox.runner import SandboxServer

        local = SandboxServer(config=SandboxConfig())
        local.start()
    try:
        await _bench(args, n, args.sandbox_url or local.base_url)  # type: ignore[union-attr]
    finally:
        if local is not None:
            local.stop()


async def _bench(args, n: int, sandbox_url: str) -> None:  # noqa: ANN001
    async with Stack.open("sync-latency", sandbox_url=sandbox_url) as stack:
        c = await stack.add_company(0)
        if not args.no_latency:
            await stack.set_latency([c.realm_id])
        tids = await stack.add_timecards(c, n, approved=False)
        stack.start_workers(1)
        await stack.workers_ready(timeout=600)
        tag_to_tid = {bench_tag(t): t for t in tids}
        published: dict = {}
        seen: dict = {}

        async def poll() -> None:
            while len(seen) < n:
                for ta in await stack.activities(c.realm_id):
                    tid = tag_to_tid.get(ta.get("Description") or "")
                    if tid is not None and tid not in seen:
                        seen[tid] = time.monotonic()
                await asyncio.sleep(args.poll)

        poller = asyncio.create_task(poll())
        log(f"publishing {n} approvals at {args.rate}/s")
        start = time.monotonic()
        for i, tid in enumerate(tids):
            due = start + i / args.rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            published[tid] = time.monotonic()
            await stack.approve(c, tid)
        try:
            await asyncio.wait_for(poller, timeout=args.timeout)
        except TimeoutError:
            log(f"timed out: {len(seen)}/{n} TimeActivities seen")
        latencies = [seen[t] - published[t] for t in tids if t in seen]
        activities = await stack.activities(c.realm_id)
        counts = await stack.state_counts([c])
        http = await stack.http_stats([c])
        p95 = percentile(latencies, 95) if latencies else float("nan")
        rows = [
            ("machine", machine()),
            ("timecards", f"{n} approvals of one company at {args.rate}/s, 1 worker process"),
            ("sandbox latency", "none" if args.no_latency else
             f"{QBO_LATENCY['latencyMs'] + QBO_LATENCY['jitterMs'] / 2:.0f} ms +- {QBO_LATENCY['jitterMs'] / 2:.0f} ms "
             "per call"),
            ("seen in the sandbox", f"{len(latencies)}/{n} (TimeActivities: {len(activities)}, rows: {counts})"),
            ("p50 publish -> TimeActivity exists", f"{percentile(latencies, 50):.2f} s" if latencies else "n/a"),
            ("p95", f"{p95:.2f} s  (goal < {GOAL_P95:.0f} s: {'met' if p95 < GOAL_P95 else 'NOT met'})"),
            ("max", f"{max(latencies):.2f} s" if latencies else "n/a"),
            ("HTTP requests to QBO", f"{http.get('requests')} ({http.get('batch_requests')} batches)"),
            ("sandbox polling interval", f"{args.poll:.2f} s (adds up to that much to each figure)"),
        ]
        print_table("sync latency: timecard.approved -> TimeActivity in QBO", rows)
        if len(activities) != n or len(latencies) != n:
            raise SystemExit(1)


if __name__ == "__main__":
    run(main())
