"""Reconciliation of a big company: N TimeActivities (default 10,000) synced for one company, plus
one duplicate and one orphan seeded, then one reconciliation run (reconciliation.service.run, as
the worker's job calls it) against the sandbox over HTTP with QBO's limits on.

Prints the QBO calls the run spent (every one a metered read, except the one delete that repairs
the duplicate), its wall time, and what it found.

    .venv/bin/python bench/reconcile_10k.py            # 10,000 TimeActivities
    .venv/bin/python bench/reconcile_10k.py --small    # 1,000
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime

from common import BASE_DAY, Stack, arg_parser, log, machine, print_table, run


async def _create_all(stack: Stack, realm: str, token: str, payloads: list[dict]) -> list[tuple[str, str]]:
    """Create the TimeActivities through QBO's own batch endpoint (30 a request, 8 at a time)."""
    out: list[tuple[str, str] | None] = [None] * len(payloads)
    gate = asyncio.Semaphore(8)

    async def batch(start: int) -> None:
        chunk = payloads[start:start + 30]
        body = {"BatchItemRequest": [{"bId": str(start + i), "operation": "create", "TimeActivity": p}
                                     for i, p in enumerate(chunk)]}
        async with gate:
            r = await stack.http.post(f"/v3/company/{realm}/batch", params={"minorversion": "75"}, json=body,
                                      headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        r.raise_for_status()
        for item in r.json()["BatchItemResponse"]:
            ta = item["TimeActivity"]
            out[int(item["bId"])] = (str(ta["Id"]), str(ta["SyncToken"]))

    await asyncio.gather(*(batch(s) for s in range(0, len(payloads), 30)))
    assert all(out), "a create failed"
    return [o for o in out if o]


async def main() -> None:
    p = arg_parser(__doc__ or "")
    p.add_argument("--timecards", type=int, default=None)
    args = p.parse_args()
    n = args.timecards or (1000 if args.small else 10_000)
    from sqlalchemy import insert, update

    from qbo_integration.config import Settings
    from qbo_integration.core_platform.gateway import CoreGateway
    from qbo_integration.core_platform.models import Timecard
    from qbo_integration.mapping.payload import build_time_activities
    from qbo_integration.mapping.profiles import active_config
    from qbo_integration.reconciliation import service
    from qbo_integration.services import build_services
    from qbo_integration.sync import policy
    from qbo_integration.sync.models import TimecardSyncRecord

    async with Stack.open("reconcile") as stack:
        c = await stack.add_company(0)
        tids = await stack.add_timecards(c, n)
        await stack.http.put(f"/_sandbox/realms/{c.realm_id}/limits", json={"enabled": False})
        t0 = time.monotonic()
        async with stack.sm() as s:
            company = await CoreGateway(s).get_company(c.company_id)
            assert company is not None
            config = await active_config(s, c.company_id)
            payloads: dict[uuid.UUID, dict] = {}
            for start in range(0, n, 2000):
                tcs = list((await CoreGateway(s).get_timecards(tids[start:start + 2000])).values())
                built = await build_time_activities(s, company, tcs, config=config)
                payloads.update({tid: b.payload for tid, b in built.items() if b.payload is not None})
        assert len(payloads) == n, "some timecards did not map"
        order = list(payloads)
        held = await _create_all(stack, c.realm_id, c.access_token, [payloads[t] for t in order])
        # one duplicate of the first timecard's record, as a lost answer re-sent would leave
        await _create_all(stack, c.realm_id, c.access_token, [payloads[order[0]]])
        now = datetime.now(UTC)
        async with stack.sm() as s:
            rows = [{"id": uuid.uuid4(), "company_id": c.company_id, "timecard_id": tid, "operation": "none",
                     "state": "synced", "timecard_version": 1, "synced_version": 1, "attempts": 0,
                     "qbo_id": qid, "qbo_sync_token": tok, "fingerprint": policy.fingerprint(payloads[tid]),
                     "synced_at": now, "next_attempt_at": now, "wanted": "present"}
                    for tid, (qid, tok) in zip(order, held, strict=True)]
            for start in range(0, n, 2000):
                await s.execute(insert(TimecardSyncRecord), rows[start:start + 2000])
            await s.execute(update(Timecard).where(Timecard.company_id == c.company_id)
                            .values(sync_status="synced"))
            # one orphan: the last timecard is no longer approved, QBO still holds it
            await s.execute(update(Timecard).where(Timecard.id == order[-1]).values(status="submitted", version=2))
            await s.commit()
        await stack.http.put(f"/_sandbox/realms/{c.realm_id}/limits", json={"enabled": True})
        log(f"seeded {n + 1} TimeActivities in QBO and {n} synced outbox rows in {time.monotonic() - t0:.0f} s")

        os.environ.update(stack.env())
        settings = Settings()
        services = await build_services(settings, stack.sm, stack.redis, stack.queue)
        window = (now.date() - BASE_DAY.date()).days + 2  # the whole history: a full comparison
        since = time.time()
        t1 = time.monotonic()
        result = await service.run(stack.sm, services.qbo, stack.queue, stack.redis, c.company_id, None,
                                   service.Budget(window_days=window, max_reads=100_000), trigger="admin")
        wall = time.monotonic() - t1
        http = await stack.http_stats([c], since)
        await services.aclose()
        rows_out = [
            ("machine", machine()),
            ("TimeActivities in QBO", f"{n + 1} ({n} ours, 1 duplicate); outbox rows {n}"),
            ("window", f"{window} days (all of them)"),
            ("wall time of the run", f"{wall:.1f} s"),
            ("QBO calls the run made", f"{result.get('reads')} (reader's count); sandbox saw {http['requests']} "
                                       f"requests, {http['write_requests']} writes, {http['status_429']} 429s"),
            ("records read", result.get("records")),
            ("complete", result.get("complete")),
            ("found", {k: result.get(k) for k in ("missing", "duplicate", "orphan", "drift") if k in result}),
            ("status", result.get("status")),
        ]
        print_table("reconciliation", rows_out)
        if result.get("status") != "completed":
            raise SystemExit(1)


if __name__ == "__main__":
    run(main())
