"""Webhook backlog: one company's 50,000 stored events, and how long another company's event waits.

Company A gets a backlog of signed deliveries (5,000 events each, the format's limit) through
`POST …/webhooks` of a real `qbo-integration serve`: Employee updates for ids QBO does not have, so
every claimed batch costs the worker real QBO reads (5 `Id IN (…)` queries of 100 ids, at the
sandbox's 400 ms +- 100 ms a call and A's own limits). Once A's drain has started, company B gets
one event (an Employee rename). The table gives B's wait (stored -> processed, from the rows'
received_at / processed_at, the database's clock), A's drain (events a second, first stored -> last
processed), the delivery answers (Intuit allows 3 s), and whether every event was processed exactly
once (attempts).

`--max-jobs` is WORKER_MAX_JOBS of the worker processes: 50 is the default; 1 is the worst case
for fairness (A's drain and B share one job slot: B waits for at most one of A's batches).

    .venv/bin/python bench/webhook_backlog.py --small            # 5,000 events
    .venv/bin/python bench/webhook_backlog.py                    # 50,000 events
    .venv/bin/python bench/webhook_backlog.py --max-jobs 1
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from api_load import start_api
from common import (
    QBO_LATENCY,
    Stack,
    arg_parser,
    free_port,
    log,
    machine,
    print_table,
    run,
    stop_process,
    wait_port,
)

from qbo_integration.webhooks.formats import MAX_EVENTS
from qbo_integration.webhooks.signature import sign

URL = "/api/v1/integrations/quickbooks/webhooks"
VERIFIER = "dev-only-webhook-verifier"  # the settings' default, usable in dev mode (the stack runs QBOI_ENV=dev)
MISSING_IDS = 1_000_000  # Employee ids from here on: none exists in the sample realm


def delivery(realm: str, ids: list[str], tag: str) -> bytes:
    now = datetime.now(UTC).isoformat()
    return json.dumps([{"specversion": "1.0", "id": f"{tag}-{i}", "type": "qbo.employee.updated.v1", "time": now,
                        "intuitentityid": entity_id, "intuitaccountid": realm}
                       for i, entity_id in enumerate(ids)], separators=(",", ":")).encode()


async def post(http: httpx.AsyncClient, body: bytes) -> tuple[dict, float]:
    t = time.perf_counter()
    r = await http.post(URL, content=body, headers={"content-type": "application/json",
                                                    "intuit-signature": sign(body, VERIFIER)})
    r.raise_for_status()
    return r.json(), time.perf_counter() - t


async def counts(stack: Stack, company_id: object) -> tuple[int, int]:
    [(done, total)] = await stack.sql("SELECT count(*) FILTER (WHERE status = 'done'), count(*) FROM webhook_events "
                                      "WHERE company_id = :c", c=company_id)
    return int(done), int(total)


async def until(done: Any, interval: float, timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await done() or time.monotonic() > deadline:
            return
        await asyncio.sleep(interval)


async def _done_at_least(stack: Stack, company_id: object, n: int) -> bool:
    return (await counts(stack, company_id))[0] >= n


async def main() -> None:
    p = arg_parser(__doc__ or "")
    p.add_argument("--events", type=int, default=None, help="company A's backlog (default 50,000; --small 5,000)")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--max-jobs", type=int, default=50, help="WORKER_MAX_JOBS")
    p.add_argument("--timeout", type=float, default=3600, help="seconds to wait for A's drain")
    p.add_argument("--per-delivery", type=int, default=MAX_EVENTS, help="events a delivery (at most 5,000)")
    args = p.parse_args()
    events = args.events or (5_000 if args.small else 50_000)
    load_before = os.getloadavg()
    async with Stack.open("webhooks") as stack:
        a, b = await stack.add_companies(2)
        await stack.set_latency([a.realm_id, b.realm_id])
        stack.worker_env_extra = {"WORKER_MAX_JOBS": str(args.max_jobs)}
        port = free_port()
        api = start_api(stack, port)
        try:
            await asyncio.to_thread(wait_port, port, 300, api)
            stack.start_workers(args.workers)
            await stack.workers_ready()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
                answers = []
                t0 = time.monotonic()
                for start in range(0, events, args.per_delivery):
                    ids = [str(MISSING_IDS + n) for n in range(start, min(start + args.per_delivery, events))]
                    ack, took = await post(http, delivery(a.realm_id, ids, f"a{start}"))
                    answers.append(took)
                    assert ack["stored"] == len(ids), ack
                log(f"webhook_backlog: {events:,} events of company A stored in {time.monotonic() - t0:.1f} s")
                await until(lambda: _done_at_least(stack, a.company_id, 1), 0.2)  # A's drain has begun
                await stack.http.post(f"/_sandbox/realms/{b.realm_id}/entities/Employee",
                                      json={"Id": "2", "DisplayName": "Renamed in B"})
                ack, b_took = await post(http, delivery(b.realm_id, ["2"], "b"))
                answers.append(b_took)
                log("webhook_backlog: company B's event stored; waiting for it")
                await until(lambda: _done_at_least(stack, b.company_id, 1), 0.1)
                a_done_at_b = (await counts(stack, a.company_id))[0]
                await until(lambda: _done_at_least(stack, a.company_id, events), 1, args.timeout)
        finally:
            stop_process(api)
        [(b_wait,)] = await stack.sql("SELECT extract(epoch FROM processed_at - received_at) FROM webhook_events "
                                      "WHERE company_id = :c", c=b.company_id)
        [(first, last, done, total, twice)] = await stack.sql(
            "SELECT min(received_at), max(processed_at), count(*) FILTER (WHERE status = 'done'), count(*), "
            "count(*) FILTER (WHERE attempts > 1) FROM webhook_events WHERE company_id = :c", c=a.company_id)
        drain = (last - first).total_seconds()
        [(b_name,)] = await stack.sql("SELECT name FROM core.users WHERE company_id = :c AND external_ids->>'qbo' = '2'",
                                      c=b.company_id)
        print_table("Webhook backlog", [
            ("machine", machine()),
            ("load average (1, 5, 15 min)", f"start {', '.join(f'{x:.1f}' for x in load_before)}, "
                                             f"end {', '.join(f'{x:.1f}' for x in os.getloadavg())}"),
            ("workers", f"{args.workers} process(es), WORKER_MAX_JOBS={args.max_jobs}"),
            ("company A's backlog", f"{events:,} Employee updates in {len(answers) - 1} deliveries of "
                                    f"<= {args.per_delivery:,}"),
            ("sandbox latency", f"{QBO_LATENCY['latencyMs'] + QBO_LATENCY['jitterMs'] / 2:.0f} "
                                f"+- {QBO_LATENCY['jitterMs'] / 2:.0f} ms a call, limits on"),
            ("delivery answers", f"max {max(answers):.2f} s, median {sorted(answers)[len(answers) // 2]:.2f} s "
                                 "(Intuit waits 3 s)"),
            ("company B's event waited", f"{float(b_wait):.2f} s (stored -> processed), "
                                         f"{a_done_at_b:,} of A's events done by then"),
            ("company B's rename in CrewFlow", str(b_name)),
            ("company A's drain", f"{done:,} of {total:,} done in {drain:.0f} s ({done / max(drain, 1e-9):.0f} events/s)"),
            ("events taken twice", str(twice)),
        ])


if __name__ == "__main__":
    run(main())
