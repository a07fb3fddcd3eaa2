"""arq jobs of the directory domain: the directory import (after connect, on demand, daily)."""

from __future__ import annotations

import uuid
from typing import Any

from qbo_integration.connections.service import queue_daily_for_connected
from qbo_integration.directory import import_flow
from qbo_integration.queue import CronSchedule


async def import_directory(ctx: dict[str, Any], company_id: str | uuid.UUID,
                           job_id: str | uuid.UUID | None = None) -> dict[str, Any]:
    """Import employees, customers, items, classes and locations from QBO for one company.

    Queued by the connect flow (no job id: a sync_jobs row is made here), by an admin (job id of the
    pending row) and by the daily cron. First import = full listing; later ones use CDC."""
    services = ctx["services"]
    return await import_flow.run_import(ctx["sessionmaker"], services.qbo, ctx["queue"], company_id, job_id,
                                        mapped=services.mapped_keys)


async def import_directories_daily(ctx: dict[str, Any]) -> int:
    """Queue an incremental import for every connected company (one job per company per day)."""
    return await queue_daily_for_connected(ctx["sessionmaker"], ctx["queue"], import_flow.FUNCTION, "directory_import")


FUNCTIONS: list[Any] = [import_directory, import_directories_daily]
CRON_JOBS: list[CronSchedule] = [CronSchedule(import_directories_daily, hour=4, minute=20, second=0, unique=True)]
