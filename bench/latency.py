"""Latency: a timecard approved -> its TimeActivity in QBO, p50/p95/p99, under background load.

Background: other companies get timecards approved continuously (events, as Core sends them).
Probe: one company gets one timecard approved at a time, `--interval` apart; for each probe we take
approved_at (set when Core approved it, event published at once) to the moment the worker recorded
QBO's answer (`synced_at` of its outbox row; the TimeActivity exists in QBO slightly before that).

    .venv/bin/python bench/latency.py            # 10 background companies, 300 probes
    .venv/bin/python bench/latency.py --small    # 4 background companies, 60 probes (~2 min)
"""

from __future__ import annotations

import asyncio
import time

from common import QBO_LATENCY, Stack, arg_parser, log, machine, percentile, print_table, run


async def main() -> None:
    p = arg_parser(__doc__ or "")
    p.add_argument("--background", type=int, default=None, help="background companies")
    p.add_argument("--per-second", type=int, default=2, help="background approvals per company per second")
    p.add_argument("--probes", type=int, default=None)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    nbg = args.background or (4 if args.small else 10)
    probes = args.probes or (60 if args.small else 300)
    async with Stack.open("latency") as stack:
        bg = await stack.add_companies(nbg)
        probe = await stack.add_company(nbg)
        await stack.set_latency([c.realm_id for c in [*bg, probe]])
        seconds = int(probes * args.interval) + 30
        for c in bg:
            await stack.add_timecards(c, args.per_second * seconds, approved=False)
        probe_ids = await stack.add_timecards(probe, probes, approved=False)
        stack.start_workers(args.workers)
        await stack.workers_ready()
        stop = asyncio.Event()
        bg_sent = 0

        async def background() -> None:
            nonlocal bg_sent
            i = 0
            while not stop.is_set() and i < seconds:
                for c in bg:
                    ids = c.timecards[i * args.per_second:(i + 1) * args.per_second]
                    if ids:
                        await stack.approve_many(c, ids)
                        bg_sent += len(ids)
                i += 1
                await asyncio.sleep(1)

        task = asyncio.create_task(background())
        await asyncio.sleep(5)  # let the background reach a steady state
        log(f"latency: {probes} probes, {nbg} background companies x {args.per_second}/s")
        for tid in probe_ids:
            await stack.approve_many(probe, [tid])
            await asyncio.sleep(args.interval)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            counts = await stack.state_counts([probe])
            if counts.get("synced", 0) >= probes:
                break
            await asyncio.sleep(1)
        stop.set()
        await task
        rows = await stack.sql(
            "SELECT extract(epoch FROM r.synced_at - t.approved_at) FROM timecard_sync_records r "
            "JOIN core.timecards t ON t.id = r.timecard_id WHERE r.company_id = :cid AND r.state = 'synced'",
            cid=probe.company_id)
        lat = [float(r[0]) for r in rows]
        bg_counts = await stack.state_counts(bg)
        cpu = sum(w.cpu_seconds() for w in stack.workers)
        print_table("latency (approve -> in QBO)", [
            ("machine", machine()),
            ("sandbox latency", f"{QBO_LATENCY['latencyMs'] + QBO_LATENCY['jitterMs'] / 2:.0f} "
                                f"+- {QBO_LATENCY['jitterMs'] / 2:.0f} ms per call, limits on"),
            ("workers", args.workers),
            ("background", f"{nbg} companies x {args.per_second} approvals/s = {nbg * args.per_second * 60}/min "
                           f"({bg_sent} approved, {bg_counts.get('synced', 0)} synced during the run)"),
            ("probes synced", f"{len(lat)} of {probes}"),
            ("p50", f"{percentile(lat, 50):.2f} s"), ("p95", f"{percentile(lat, 95):.2f} s"),
            ("p99", f"{percentile(lat, 99):.2f} s"), ("max", f"{max(lat) if lat else float('nan'):.2f} s"),
            ("worker CPU (whole run)", f"{cpu:.0f} s"),
        ])


if __name__ == "__main__":
    run(main())
