"""Worker housekeeping: refresh queue gauges so /metrics on a worker shows the backlog."""

from __future__ import annotations

from typing import Any

from qbo_integration.metrics import QUEUE_DEPTH
from qbo_integration.queue import CronSchedule


async def refresh_queue_metrics(ctx: dict[str, Any]) -> int:
    depth = await ctx["queue"].depth()
    QUEUE_DEPTH.set(depth)
    return depth


FUNCTIONS: list[Any] = [refresh_queue_metrics]
CRON_JOBS: list[CronSchedule] = [CronSchedule(refresh_queue_metrics, second=0, run_at_startup=False, unique=True,
                                             timeout=30)]
