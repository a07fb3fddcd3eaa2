"""Jobs of the reconciliation domain: one company's run, and the nightly round of every connected company."""

from __future__ import annotations

import uuid
from typing import Any

from qbo_integration.connections.service import queue_daily_for_connected
from qbo_integration.queue import CronSchedule
from qbo_integration.reconciliation import service


def _budget(ctx: dict[str, Any]) -> service.Budget:
    s = ctx["settings"]
    return service.Budget(window_days=s.reconciliation_window_days, max_reads=s.reconciliation_max_reads,
                          daily_reads=s.reconciliation_daily_reads)


async def reconcile_company(ctx: dict[str, Any], company_id: str | uuid.UUID, run_id: str | uuid.UUID | None = None,
                            trigger: str | None = None) -> dict[str, Any]:
    """Compare QBO's TimeActivities with what we synced for one company; repair and report."""
    return await service.run(ctx["sessionmaker"], ctx["services"].qbo, ctx["queue"], ctx["redis"], company_id, run_id,
                             _budget(ctx), trigger=trigger or ("admin" if run_id else "nightly"))


async def reconcile_nightly(ctx: dict[str, Any]) -> int:
    return await queue_daily_for_connected(ctx["sessionmaker"], ctx["queue"], service.FUNCTION, "reconcile")


FUNCTIONS: list[Any] = [reconcile_company, reconcile_nightly]
CRON_JOBS: list[CronSchedule] = [CronSchedule(reconcile_nightly, hour=3, minute=40, second=0, unique=True)]
