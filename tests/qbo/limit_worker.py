"""One 'worker process' for the shared-limits test: drives a realm as fast as it can, prints a summary.

Run: python -m tests.qbo.limit_worker '<json config>'
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from qbo_integration.qbo import BatchOp, LimitsConfig, MemoryTokenStore, QboApi, QboConfig, QboError, TokenSet


async def main(cfg: dict) -> dict:
    redis = Redis.from_url(cfg["redis_url"])
    store = MemoryTokenStore()
    store.tokens["c"] = TokenSet(
        access_token=cfg["access_token"],
        refresh_token=cfg["refresh_token"],
        access_expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    limits = LimitsConfig(
        calls_per_window=cfg["calls"],
        batches_per_window=cfg["batches"],
        window_seconds=cfg["window"],
        margin_seconds=cfg["margin"],
        max_in_flight=cfg["in_flight"],
        max_wait_seconds=cfg["window"] * 3,
    )
    config = QboConfig.local_sandbox(cfg["base_url"], limits=limits)
    outcomes: Counter = Counter()
    async with QboApi(config, redis, store) as api:
        client = api.company("c", cfg["realm"])
        # all processes start together (imports can take seconds on a loaded machine), then run `duration`
        await asyncio.sleep(max(0.0, cfg["start_at"] - time.time()))
        deadline = time.monotonic() + cfg["duration"]

        async def loop(n: int) -> None:
            i = 0
            while time.monotonic() < deadline:
                i += 1
                try:
                    if i % 4 == 0:
                        ops = [
                            BatchOp(
                                "create",
                                payload=cfg["ta"] | {"Description": f"w{cfg['wid']}-{n}-{i}-{k}"},
                                request_id=f"w{cfg['wid']}-{n}-{i}-{k}",
                            )
                            for k in range(3)
                        ]
                        res = await client.batch(ops)
                        outcomes["batch_items_ok"] += sum(r.ok for r in res)
                    else:
                        await client.company_info()
                        outcomes["ok"] += 1
                except QboError as exc:
                    outcomes[str(exc.resolution.action)] += 1

        await asyncio.gather(*(loop(n) for n in range(cfg["tasks"])))
        stats = client.stats
    await redis.aclose()
    return {"outcomes": dict(outcomes), "calls": stats.calls, "throttled": stats.throttled}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
