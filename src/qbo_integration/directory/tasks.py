"""arq jobs of the directory domain: the directory import (after connect, on demand, daily)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from qbo_integration.clock import utc_now
from qbo_integration.connections.service import queue_daily_for_connected
from qbo_integration.directory import import_flow
from qbo_integration.logs import log_fields
from qbo_integration.monitoring import read_budget
from qbo_integration.qbo import purpose as purposes
from qbo_integration.queue import CronSchedule, commit_and_flush

logger = logging.getLogger(__name__)


async def import_directory(ctx: dict[str, Any], company_id: str | uuid.UUID,
                           job_id: str | uuid.UUID | None = None) -> dict[str, Any]:
    """Import employees, customers, items, classes and locations from QBO for one company.

    Queued by the connect flow (no job id: a sync_jobs row is made here), by an admin (job id of the
    pending row) and by the daily cron. First import = full listing; later ones use CDC."""
    services = ctx["services"]
    return await import_flow.run_import(ctx["sessionmaker"], services.qbo, ctx["queue"], company_id, job_id,
                                        mapped=services.mapped_keys)


async def import_directories_daily(ctx: dict[str, Any]) -> int:
    """Queue an incremental import for every connected company (one job per company per day); none while
    the app's monthly read budget is nearly used up (a directory refresh can wait: CDC looks back 30 days)."""
    if not await read_budget.may_read(ctx.get("redis"), "app", purposes.DIRECTORY_REFRESH):
        return 0
    return await queue_daily_for_connected(ctx["sessionmaker"], ctx["queue"], import_flow.FUNCTION, "directory_import")


async def give_up_lost_imports(ctx: dict[str, Any]) -> int:
    """Every 15 minutes: imports the job queue lost (pending for 30 minutes) end failed, saying why."""
    async with ctx["sessionmaker"]() as s:
        n = await import_flow.give_up_lost(s, utc_now())
        await s.commit()
    if n:
        logger.warning("directory imports the queue lost marked failed", extra=log_fields(count=n))
    return n


async def requeue_lost_imports(ctx: dict[str, Any]) -> int:
    """Every minute: imports still pending 30 s after they were queued are queued again (a Redis restart
    loses the queue; a second entry of a waiting job is refused), and imports that stopped while running
    end failed, saying why."""
    async with ctx["sessionmaker"]() as s:
        n = await import_flow.requeue_lost(s, ctx["queue"], utc_now())
        await commit_and_flush(s, ctx["queue"])
    if n:
        logger.info("pending directory imports queued again", extra=log_fields(count=n))
    return n


FUNCTIONS: list[Any] = [import_directory, import_directories_daily, give_up_lost_imports, requeue_lost_imports]
CRON_JOBS: list[CronSchedule] = [CronSchedule(import_directories_daily, hour=4, minute=20, second=0, unique=True),
                                 CronSchedule(give_up_lost_imports, minute={5, 20, 35, 50}, second=40, unique=True),
                                 CronSchedule(requeue_lost_imports, second=50, unique=True)]
