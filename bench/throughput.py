"""Throughput: N approved timecards of ONE company through the real worker into the sandbox.

QBO allows 500 calls a minute per company (each batch item counts), so 500 timecards/minute is the
ceiling; this shows how close we get, and how many HTTP round trips a timecard costs.

    .venv/bin/python bench/throughput.py            # 10,000 timecards (~20 min at the ceiling)
    .venv/bin/python bench/throughput.py --small    # 600 timecards (past the first 500-call window)
"""

from __future__ import annotations

import time

from common import QBO_LATENCY, Stack, arg_parser, log, machine, print_table, run, synced_rate

CEILING = 500.0


async def main() -> None:
    p = arg_parser(__doc__ or "")
    p.add_argument("--timecards", type=int, default=None)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--timeout", type=float, default=None, help="seconds to wait for the sync")
    args = p.parse_args()
    n = args.timecards or (600 if args.small else 10_000)
    timeout = args.timeout or (n / CEILING * 60 * 1.6 + 60)
    async with Stack.open("throughput") as stack:
        c = await stack.add_company(0)
        await stack.set_latency([c.realm_id])
        await stack.add_timecards(c, n)
        since = time.time()
        # Sync Now before the workers start: the worker's startup sweep then finds nothing to add, and
        # the two never fight over the same outbox rows (see docs/benchmarks.md, "Findings").
        await stack.request_sync([c])
        log(f"sync of {n} timecards requested; starting the worker(s)")
        stack.start_workers(args.workers)
        await stack.workers_ready()
        t0 = time.monotonic()
        done = await stack.wait_synced([c], n, timeout)
        wall = time.monotonic() - t0
        cpu = sum(w.cpu_seconds() for w in stack.workers)
        times = (await stack.synced_times([c]))[c.company_id]
        whole, steady = synced_rate(times, skip_seconds=60.0)
        http = await stack.http_stats([c], since)
        rec = await stack.reconcile([c])
        counts = await stack.state_counts([c])
        rows = [
            ("machine", machine()),
            ("timecards", f"{n} (one company), {args.workers} worker process(es)"),
            ("sandbox latency", f"{QBO_LATENCY['latencyMs'] + QBO_LATENCY['jitterMs'] / 2:.0f} ms "
                                f"+- {QBO_LATENCY['jitterMs'] / 2:.0f} ms per call, QBO limits on"),
            ("all synced", f"{done} ({counts})"),
            ("wall time, worker ready -> last synced", f"{wall:.1f} s"),
            ("rate over the wall time", f"{n / max(wall, 1e-9) * 60:.0f} timecards/min = "
                                        f"{n / max(wall, 1e-9) * 60 / CEILING:.0%} of the 500/min ceiling"),
            ("rate over the send window", f"{whole:.0f} timecards/min = {whole / CEILING:.0%} of the 500/min ceiling"),
            ("rate after the first minute", "n/a (run shorter than ~70 s)" if steady != steady else
             f"{steady:.0f} timecards/min = {steady / CEILING:.0%} of the ceiling"),
            ("HTTP round trips (TimeActivity writes)", f"{http['write_requests']} "
             f"({http['batch_requests']} batches) = {http['write_requests'] / max(n, 1):.3f} per timecard"),
            ("all HTTP requests to QBO", f"{http['requests']} = {http['requests'] / max(n, 1):.3f} per timecard"),
            ("429s received", http["status_429"]),
            ("worker CPU", f"{cpu:.1f} s ({cpu / max(wall, 1e-9):.0%} of one core)"),
            ("worker peak RSS", f"{max(w.peak_rss_mb() for w in stack.workers):.0f} MiB"),
        ] + [(f"reconcile: {k}", v) for k, v in rec.rows()]
        print_table("throughput", rows, note="the first minute includes QBO's initial 500-call window; "
                    "'after the first minute' is the steady pace" if n > 500 else None)
        if not rec.clean:
            print("  examples:", rec.examples)
            raise SystemExit(1)


if __name__ == "__main__":
    run(main())
