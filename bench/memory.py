"""Memory: a worker's peak RSS while it syncs many timecards (one worker process).

    .venv/bin/python bench/memory.py            # 100,000 timecards (20 companies x 5,000)
    .venv/bin/python bench/memory.py --small    # 3,000 timecards (10 companies x 300), capped at 150 s

QBO allows 500 timecards/minute per company, so 100,000 take at least 10 minutes even spread over
20 companies; the worker claims at most 300 rows per company per round, so its memory should not
grow with the backlog. We sample RSS every second and report idle, peak (VmHWM) and the backlog.
"""

from __future__ import annotations

import time

from common import QBO_LATENCY, Stack, arg_parser, log, machine, print_table, run


async def main() -> None:
    p = arg_parser(__doc__ or "")
    p.add_argument("--companies", type=int, default=None)
    p.add_argument("--timecards", type=int, default=None, help="per company")
    p.add_argument("--cap", type=float, default=None, help="stop measuring after this many seconds")
    args = p.parse_args()
    n = args.companies or (10 if args.small else 20)
    per = args.timecards or (300 if args.small else 5000)
    cap = args.cap or (150 if args.small else 2400)
    total = n * per
    async with Stack.open("memory") as stack:
        companies = await stack.add_companies(n)
        await stack.set_latency([c.realm_id for c in companies])
        for c in companies:
            await stack.add_timecards(c, per)
        await stack.request_sync(companies)  # before the worker starts: no overlap with its startup sweep
        (worker,) = stack.start_workers(1)
        await stack.workers_ready()
        idle = worker.rss_mb()
        log(f"memory: {total} timecards, worker RSS when ready {idle:.0f} MiB")
        t0 = time.monotonic()
        samples: list[float] = []

        async def sample(counts: dict[str, int]) -> None:
            samples.append(worker.rss_mb())

        done = await stack.wait_synced(companies, total, cap, on_tick=sample)
        wall = time.monotonic() - t0
        counts = await stack.state_counts(companies)
        print_table("memory (one worker)", [
            ("machine", machine()),
            ("timecards", f"{total} ({n} companies x {per}), latency {QBO_LATENCY['latencyMs'] + 100:.0f} ms +- 100"),
            ("synced", f"{counts.get('synced', 0)} in {wall:.0f} s ({'all' if done else 'stopped at the cap'})"),
            ("RSS when the worker was ready", f"{idle:.0f} MiB"),
            ("RSS while syncing: median / max sampled", f"{sorted(samples)[len(samples) // 2]:.0f} / "
                                                        f"{max(samples):.0f} MiB" if samples else "-"),
            ("peak RSS (VmHWM)", f"{worker.peak_rss_mb():.0f} MiB"),
            ("worker CPU", f"{worker.cpu_seconds():.0f} s"),
        ])


if __name__ == "__main__":
    run(main())
