"""Baseline: the fleet workload sent the naive way, against the same sandbox in the same run.

Naive = companies one after another, one POST /timeactivity per timecard, one at a time, plain
httpx, no batching, no shared limiter. Ours = the real workers on the same workload (a separate set
of realms in the same sandbox, same latency). Printed side by side with the ratio.

    .venv/bin/python bench/baseline.py            # 50 companies x 1,000 timecards
    .venv/bin/python bench/baseline.py --small    # 10 x 100, the naive run capped at 60 s and extrapolated
"""

from __future__ import annotations

import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
from common import (
    BASE_DAY,
    DEFAULT_TZ,
    QBO_LATENCY,
    Stack,
    arg_parser,
    bench_tag,
    log,
    machine,
    print_table,
    run,
)


def naive_payload(tid: object, k: int) -> dict[str, object]:
    """What a hand-written integration would send (same times and hours as Stack.add_timecards)."""
    tz = ZoneInfo(DEFAULT_TZ)
    start = (BASE_DAY + timedelta(days=k // 4, hours=(k % 4) * 0.25)).astimezone(tz)
    end = start + timedelta(hours=4.5 + (k % 9) * 0.5)
    return {"NameOf": "Employee", "EmployeeRef": {"value": "1"}, "CustomerRef": {"value": "1"},
            "ItemRef": {"value": "1"}, "TxnDate": start.date().isoformat(), "StartTime": start.isoformat(),
            "EndTime": end.isoformat(), "BreakHours": 0, "BreakMinutes": 30, "BillableStatus": "Billable",
            "Description": bench_tag(tid)}  # type: ignore[arg-type]


async def main() -> None:
    p = arg_parser(__doc__ or "")
    p.add_argument("--companies", type=int, default=None)
    p.add_argument("--timecards", type=int, default=None, help="per company")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--naive-cap", type=float, default=None, help="seconds the naive run may take (then extrapolate)")
    args = p.parse_args()
    n = args.companies or (10 if args.small else 50)
    per = args.timecards or (100 if args.small else 1000)
    cap = args.naive_cap or (60 if args.small else 7200)
    total = n * per
    async with Stack.open("baseline") as stack:
        ours = await stack.add_companies(n)
        naive = await stack.add_companies(n, enabled=False)
        await stack.set_latency([c.realm_id for c in ours + naive])
        for c in ours + naive:
            await stack.add_timecards(c, per)
        await stack.request_sync(ours)  # before the workers start: no overlap with their startup sweep
        stack.start_workers(args.workers)
        await stack.workers_ready()
        log(f"baseline: ours, {total} timecards")
        t0 = time.monotonic()
        done = await stack.wait_synced(ours, total, 1800)
        our_wall = time.monotonic() - t0
        synced = sum(len(v) for v in (await stack.synced_times(ours)).values())
        our_rate = synced / max(our_wall, 1e-9) * 60  # wall time: synced_at is stamped once per round
        our_http = await stack.http_stats(ours)
        stack.stop_workers()

        log(f"baseline: naive, up to {cap:.0f} s")
        sent = errors = 0
        t1 = time.monotonic()
        async with httpx.AsyncClient(base_url=stack.sandbox_url, timeout=120) as http:
            for c in naive:
                if time.monotonic() - t1 > cap:
                    break
                for k, tid in enumerate(c.timecards):
                    if time.monotonic() - t1 > cap:
                        break
                    r = await http.post(f"/v3/company/{c.realm_id}/timeactivity", params={"minorversion": "75"},
                                        json=naive_payload(tid, k),
                                        headers={"Authorization": f"Bearer {c.access_token}",
                                                 "Accept": "application/json"})
                    sent += 1
                    errors += r.status_code >= 300
        naive_wall = time.monotonic() - t1
        naive_rate = (sent - errors) / naive_wall * 60 if naive_wall else float("nan")
        naive_total_min = total / naive_rate if naive_rate else float("nan")
        print_table("baseline vs ours (same sandbox, same run)", [
            ("machine", machine()),
            ("workload", f"{n} companies x {per} timecards = {total}; latency "
                         f"{QBO_LATENCY['latencyMs'] + QBO_LATENCY['jitterMs'] / 2:.0f} +- "
                         f"{QBO_LATENCY['jitterMs'] / 2:.0f} ms, limits on"),
            ("ours", f"{args.workers} workers: {'all' if done else 'NOT all'} synced in {our_wall:.0f} s, "
                     f"{our_rate:.0f} tc/min, {our_http['write_requests']} write requests "
                     f"({our_http['write_requests'] / max(total, 1):.3f}/tc), 429s {our_http['status_429']}"),
            ("naive", f"{sent} sent ({errors} errors) in {naive_wall:.0f} s = {naive_rate:.0f} tc/min, "
                      f"1.000 requests/tc"),
            ("naive, whole workload", f"{'measured' if sent >= total else 'extrapolated'}: "
                                      f"{naive_total_min:.1f} min"),
            ("ratio (ours / naive, tc per minute)", f"{our_rate / naive_rate:.1f}x" if naive_rate else "-"),
        ])


if __name__ == "__main__":
    run(main())
