"""Fleet: many companies at once, QBO limits on, 400 +- 100 ms per call; then 4, 2 and 1 workers.

Aggregate timecards/minute, worker CPU, slowest vs fastest company (no company starves another),
and 429s received (goal 0). The workers start once; each run uses a fresh set of companies, and
workers are stopped between runs (4 -> 2 -> 1).

    .venv/bin/python bench/fleet.py            # 50 companies x 1,000 timecards, workers 4, 2, 1
    .venv/bin/python bench/fleet.py --small    # 10 companies x 100 timecards, workers 2, 1
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from common import QBO_LATENCY, Stack, arg_parser, log, machine, print_grid, print_table, run


async def one_run(stack: Stack, companies_n: int, per: int, timeout: float, workers: int) -> list[object]:
    companies = await stack.add_companies(companies_n)
    await stack.set_latency([c.realm_id for c in companies])
    for c in companies:
        await stack.add_timecards(c, per)
    total = companies_n * per
    since = time.time()
    log(f"fleet: {workers} worker(s), {companies_n} x {per} timecards: Sync Now")
    if not stack.workers:  # first run: Sync Now before the workers start (no overlap with their startup sweep)
        await stack.request_sync(companies)
        stack.start_workers(workers)
        await stack.workers_ready()
        t0 = time.monotonic()
    else:
        t0 = await stack.request_sync(companies)
    t0_wall = datetime.now(UTC) - timedelta(seconds=time.monotonic() - t0)
    cpu0 = sum(w.cpu_seconds() for w in stack.workers)
    done = await stack.wait_synced(companies, total, timeout)
    wall = time.monotonic() - t0
    cpu = sum(w.cpu_seconds() for w in stack.workers) - cpu0
    times = await stack.synced_times(companies)
    synced = sum(len(v) for v in times.values())
    # Wall time from Sync Now (or the workers being ready) to the last row synced: synced_at is stamped
    # once per round, so a span of synced_at values says little when whole companies finish in one round.
    rate = synced / max(wall, 1e-9) * 60
    spans = sorted(max(0.0, (v[-1] - t0_wall).total_seconds()) for v in times.values() if v)
    http = await stack.http_stats(companies, since)
    rec = await stack.reconcile(companies)
    await stack.set_enabled(companies, False)
    return [len(stack.workers), f"{companies_n}x{per}", "yes" if done else "NO", f"{wall:.0f}",
            f"{rate:.0f}", f"{cpu:.0f} ({cpu / max(wall, 1e-9):.0%})",
            f"{spans[0]:.0f} / {spans[-1]:.0f}" if spans else "-",
            http["status_429"], f"{http['write_requests'] / max(total, 1):.3f}",
            f"{rec.lost}/{rec.duplicated}/{rec.mismatched}"]


async def main() -> None:
    p = arg_parser(__doc__ or "")
    p.add_argument("--companies", type=int, default=None)
    p.add_argument("--timecards", type=int, default=None, help="per company")
    p.add_argument("--workers", default=None, help="comma-separated worker counts, descending (e.g. 4,2,1)")
    p.add_argument("--timeout", type=float, default=None, help="seconds per run")
    args = p.parse_args()
    n = args.companies or (10 if args.small else 50)
    per = args.timecards or (100 if args.small else 1000)
    counts = sorted({int(x) for x in (args.workers or ("2,1" if args.small else "4,2,1")).split(",")}, reverse=True)
    timeout = args.timeout or (150 if args.small else 1800)
    lines = []
    async with Stack.open("fleet") as stack:
        for k in counts:
            while len(stack.workers) > k:
                stack.workers.pop().stop()
            lines.append(await one_run(stack, n, per, timeout, k))
        print_table("fleet", [("machine", machine()),
                              ("sandbox latency", f"{QBO_LATENCY['latencyMs'] + QBO_LATENCY['jitterMs'] / 2:.0f} "
                                                  f"+- {QBO_LATENCY['jitterMs'] / 2:.0f} ms per call, limits on")])
        print_grid("fleet runs", ["workers", "companies x tc", "all synced", "wall s", "agg tc/min",
                                  "worker CPU s", "fastest/slowest co. done s", "429s", "round trips/tc",
                                  "lost/dup/mismatch"], lines)


if __name__ == "__main__":
    run(main())
