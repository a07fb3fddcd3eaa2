"""QBO reads (metered by Intuit) of a day of work: N timecards for each of M companies synced with webhooks on,
then a day's crons (the daily directory refresh and the nightly reconciliation).

Each company is connected to its own sandbox realm whose webhooks go to a real `qbo-integration serve`; its
directory is imported first (as connecting does: "setup" below, not part of a day). Its N timecards are
dated over the last 14 days (the reconciliation's window), synced through Sync Now by a real worker, and
the run waits until every webhook echo is worked off. Then the crons' jobs run once. Reads are counted
two ways: the sandbox's request log (every call that is not a write, by kind of call) and, where the code
has it, the service's own meter by purpose (Redis, monitoring/read_meter.py).

`--main DIR` runs the same workload a second time, in the same run, with the API and the worker started
from another checkout's `src` (e.g. a worktree of main), so the two columns are comparable.

    .venv/bin/python bench/reads.py --small                      # 2 companies x 200 timecards
    .venv/bin/python bench/reads.py --companies 5 --timecards 1000 --main /tmp/reads-main
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from api_load import start_api
from common import Stack, arg_parser, free_port, log, machine, print_table, run, stop_process, wait_port
from sqlalchemy import text

from qbo_integration.monitoring import read_meter

ROOT = Path(__file__).resolve().parents[1]
URL = "/api/v1/integrations/quickbooks/webhooks"
VERIFIER = "dev-only-webhook-verifier"  # the settings' default, usable in dev mode (the stack runs QBOI_ENV=dev)
FREE_TIER = 500_000
WINDOW_DAYS = 14
_KIND = [(re.compile(r"/timeactivity/[^/]+$"), "GET timeactivity/{id}"), (re.compile(r"/query$"), "query"),
         (re.compile(r"/cdc$"), "cdc"), (re.compile(r"/preferences$"), "preferences"),
         (re.compile(r"/companyinfo/"), "companyinfo")]


def kind(path: str) -> str:
    return next((name for rx, name in _KIND if rx.search(path)), "other")


async def until(check: Any, what: str, timeout: float, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        await asyncio.sleep(interval)


class Meter:
    """Reads so far: the sandbox log's (all realms of the run) and the service's own meter."""

    def __init__(self, stack: Stack, realms: list[str]) -> None:
        self.stack, self.realms, self.seen = stack, realms, 0.0

    async def snapshot(self) -> tuple[Counter, Counter]:
        by_kind: Counter = Counter()
        for realm in self.realms:
            for e in await self.stack.realm_log(realm):
                if not e["write"] and e["status"] < 400:
                    by_kind[kind(e["path"])] += 1
        return by_kind, Counter(await read_meter.app_month(self.stack.redis))


def minus(a: tuple[Counter, Counter], b: tuple[Counter, Counter]) -> tuple[Counter, Counter]:
    return a[0] - b[0], a[1] - b[1]


async def spread_dates(stack: Stack, company_ids: list[Any]) -> None:
    """The bench's timecards start in March 2026; a day's work is recent: spread them over the window."""
    today = datetime.now(UTC).replace(hour=14, minute=0, second=0, microsecond=0)
    rows = await stack.sql("SELECT id, clock_in FROM core.timecards WHERE company_id = ANY(:c) ORDER BY clock_in",
                           c=company_ids)
    params = []
    for i, (tid, clock_in) in enumerate(rows):
        day = today - timedelta(days=1 + i % (WINDOW_DAYS - 1))
        params.append({"s": day.replace(hour=clock_in.hour, minute=clock_in.minute) - clock_in, "i": tid})
    async with stack.sm() as s:
        await s.execute(text("UPDATE core.timecards SET clock_in = clock_in + :s, clock_out = clock_out + :s "
                             "WHERE id = :i"), params)
        await s.commit()


async def measure(label: str, src: str | None, companies_n: int, timecards: int, latency_ms: int,
                  timeout: float) -> dict[str, Any]:
    async with Stack.open(f"reads-{label}") as stack:
        if src:
            stack.worker_env_extra["PYTHONPATH"] = f"{src}:{ROOT}"
        companies = await stack.add_companies(companies_n)
        realms = [c.realm_id for c in companies]
        cids = [c.company_id for c in companies]
        await stack.set_latency(realms, {"latencyMs": latency_ms, "jitterMs": latency_ms // 2})
        port = free_port()
        api = start_api(stack, port)
        try:
            await asyncio.to_thread(wait_port, port, 300, api)
            for realm in realms:
                r = await stack.http.put(f"/_sandbox/realms/{realm}/webhook",
                                         json={"url": f"http://127.0.0.1:{port}{URL}", "verifierToken": VERIFIER})
                r.raise_for_status()
            stack.start_workers(1)
            await stack.workers_ready()
            meter = Meter(stack, realms)
            start = await meter.snapshot()

            async def jobs_done(kind_: str, n: int) -> bool:
                [(done,)] = await stack.sql("SELECT count(*) FROM sync_jobs WHERE kind = :k AND status IN "
                                            "('completed', 'failed') AND company_id = ANY(:c)", k=kind_, c=cids)
                return int(done) >= n

            log(f"reads[{label}]: setup: the first directory import of {companies_n} companies")
            for cid in cids:
                await stack.queue.enqueue("import_directory", str(cid), None, _job_id=f"setup-dir:{cid}")
            await until(lambda: jobs_done("directory_import", companies_n), "the first imports", timeout)
            await until(lambda: _quiet(stack, cids), "webhook events of the import", timeout)
            setup = await meter.snapshot()

            log(f"reads[{label}]: syncing {timecards} timecards for each of {companies_n} companies")
            for c in companies:
                await stack.add_timecards(c, timecards)
            await spread_dates(stack, cids)
            t0 = time.monotonic()
            await stack.request_sync(companies)
            if not await stack.wait_synced(companies, timecards * companies_n, timeout):
                raise TimeoutError(f"not every timecard synced: {await stack.state_counts(companies)}")
            synced_s = time.monotonic() - t0

            async def echoes_worked_off() -> bool:
                [(n,)] = await stack.sql("SELECT count(*) FROM webhook_events WHERE entity = 'TimeActivity' "
                                         "AND status = 'done' AND company_id = ANY(:c)", c=cids)
                return int(n) >= timecards * companies_n and await _quiet(stack, cids)

            await until(echoes_worked_off, "the webhook echoes", timeout)
            synced = await meter.snapshot()

            log(f"reads[{label}]: a day's crons: the daily directory refresh and the nightly reconciliation")
            await stack.queue.enqueue("import_directories_daily", _job_id=f"bench-dir-daily:{label}")
            await stack.queue.enqueue("reconcile_nightly", _job_id=f"bench-reconcile:{label}")

            async def runs_done() -> bool:
                [(n,)] = await stack.sql("SELECT count(*) FROM reconciliation_runs WHERE status IN "
                                         "('completed', 'failed') AND company_id = ANY(:c)", c=cids)
                return int(n) >= companies_n

            await until(lambda: jobs_done("directory_import", 2 * companies_n), "the daily refresh", timeout)
            await until(runs_done, "the nightly reconciliation", timeout)
            await until(lambda: _quiet(stack, cids), "webhook events of the day", timeout)
            day = await meter.snapshot()
            runs = await stack.sql("SELECT status, complete, qbo_reads, records_read, error FROM reconciliation_runs "
                                   "WHERE company_id = ANY(:c)", c=cids)
        finally:
            stop_process(api)
    return {"setup": minus(setup, start), "sync": minus(synced, setup), "crons": minus(day, synced),
            "synced_s": synced_s, "runs": runs, "timecards": timecards * companies_n, "companies": companies_n}


async def _quiet(stack: Stack, cids: list[Any]) -> bool:
    [(waiting,)] = await stack.sql("SELECT count(*) FROM webhook_events WHERE status IN ('pending', 'processing') "
                                   "AND company_id = ANY(:c)", c=cids)
    return int(waiting) == 0


def _fmt(c: Counter) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(c.items(), key=lambda kv: -kv[1]) if v) or "none"


def rows(label: str, r: dict[str, Any]) -> list[tuple[str, Any]]:
    n, m = r["timecards"], r["companies"]
    sync_reads, day_reads = sum(r["sync"][0].values()), sum(r["crons"][0].values())
    per_company_day = (sync_reads + day_reads) / m
    runs = Counter(f"{s}{'' if complete else ' (partial)'}" for s, complete, *_ in r["runs"])
    return [
        (f"[{label}] setup: first directory import (reads, by call)", f"{sum(r['setup'][0].values())}: "
                                                                       f"{_fmt(r['setup'][0])}"),
        (f"[{label}] setup: metered by purpose", _fmt(r["setup"][1])),
        (f"[{label}] sync of {n:,} timecards + webhook echoes", f"{sync_reads} reads: {_fmt(r['sync'][0])} "
                                                                  f"({r['synced_s']:.0f} s to sync)"),
        (f"[{label}] sync: metered by purpose", _fmt(r["sync"][1])),
        (f"[{label}] a day's crons (reads, by call)", f"{day_reads}: {_fmt(r['crons'][0])}"),
        (f"[{label}] crons: metered by purpose", _fmt(r["crons"][1])),
        (f"[{label}] reconciliation runs", f"{dict(runs)}; reads {sum(q for *_, q, _rr, _e in r['runs'])}, "
                                          f"records {sum(rr for *_, rr, _e in r['runs'])}"),
        (f"[{label}] reads per 1,000 synced timecards", f"{1000 * sync_reads / n:.1f} (sync and echoes); "
                                                        f"{1000 * (sync_reads + day_reads) / n:.1f} with the crons"),
        (f"[{label}] reads per active company per day", f"{per_company_day:.1f} ({n // m:,} timecards a company a "
                                                        f"day, directory refresh and reconciliation included)"),
        (f"[{label}] companies the free tier carries", f"{FREE_TIER / (30 * per_company_day):,.0f} "
                                                       f"(500,000 / (30 x {per_company_day:.1f}))"),
    ]


async def main() -> None:
    p = arg_parser(__doc__ or "")
    p.add_argument("--companies", type=int, default=None, help="M (default 5; --small 2)")
    p.add_argument("--timecards", type=int, default=None, help="N a company (default 500; --small 200)")
    p.add_argument("--main", default=None, help="another checkout (its root or src) to measure in the same run")
    p.add_argument("--latency-ms", type=int, default=100, help="sandbox latency a call (default 100 +- 50 ms)")
    p.add_argument("--timeout", type=float, default=1800)
    args = p.parse_args()
    m = args.companies or (2 if args.small else 5)
    n = args.timecards or (200 if args.small else 500)
    load_before = os.getloadavg()
    results = [("this branch", await measure("branch", None, m, n, args.latency_ms, args.timeout))]
    if args.main:
        src = Path(args.main)
        src = src / "src" if (src / "src").is_dir() else src
        results.append((f"main ({args.main})", await measure("main", str(src), m, n, args.latency_ms, args.timeout)))
    table: list[tuple[str, Any]] = [
        ("machine", machine()),
        ("load average (1, 5, 15 min)", f"start {', '.join(f'{x:.1f}' for x in load_before)}, "
                                         f"end {', '.join(f'{x:.1f}' for x in os.getloadavg())}"),
        ("workload", f"{m} companies x {n:,} timecards, webhooks on (CloudEvents through `serve`), 1 worker, "
                     f"sandbox {args.latency_ms} +- {args.latency_ms // 2} ms a call"),
    ]
    for label, r in results:
        table += rows(label, r)
    print_table("QBO reads (metered by Intuit) of a day of work", table,
                "reads by call: the sandbox's request log, every successful call that is not a write; metered by "
                "purpose: the service's own Redis meter (main has none)")


if __name__ == "__main__":
    run(main())
