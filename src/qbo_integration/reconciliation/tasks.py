"""Jobs of the reconciliation domain: one company's run, and the nightly round of every connected company."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from qbo_integration.connections.service import connected_company_ids
from qbo_integration.queue import CronSchedule
from qbo_integration.reconciliation import service


def _budget(ctx: dict[str, Any]) -> service.Budget:
    s = ctx["settings"]
    return service.Budget(window_days=s.reconciliation_window_days, max_reads=s.reconciliation_max_reads)


async def reconcile_company(ctx: dict[str, Any], company_id: str | uuid.UUID, run_id: str | uuid.UUID | None = None,
                            trigger: str | None = None) -> dict[str, Any]:
    """Compare QBO's TimeActivities with what we synced for one company; repair and report."""
    return await service.run(ctx["sessionmaker"], ctx["services"].qbo, ctx["queue"], ctx["redis"], company_id, run_id,
                             _budget(ctx), trigger=trigger or ("admin" if run_id else "nightly"))


async def reconcile_nightly(ctx: dict[str, Any]) -> int:
    async with ctx["sessionmaker"]() as s:
        company_ids = await connected_company_ids(s)
    day = datetime.now(UTC).date().isoformat()
    for cid in company_ids:
        await ctx["queue"].enqueue(service.FUNCTION, str(cid), None, _job_id=f"reconcile:{cid}:{day}")
    return len(company_ids)


FUNCTIONS: list[Any] = [reconcile_company, reconcile_nightly]
CRON_JOBS: list[CronSchedule] = [CronSchedule(reconcile_nightly, hour=3, minute=40, second=0, unique=True)]
