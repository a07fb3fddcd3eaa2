"""What the worker runs: each domain contributes functions, cron schedules and event handling here.

The domains' tasks modules are plain functions plus `CronSchedule` data (qbo_integration/queue.py);
only this package turns them into arq's cron jobs.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from arq.cron import CronJob, cron

from qbo_integration.connections import tasks as connections_tasks
from qbo_integration.core_platform.events import CoreEvent
from qbo_integration.directory import tasks as directory_tasks
from qbo_integration.exports import tasks as exports_tasks
from qbo_integration.monitoring import tasks as monitoring_tasks
from qbo_integration.qbo import purpose as purposes
from qbo_integration.qbo.purpose import reading_for
from qbo_integration.queue import (
    IMPORT_DIRECTORY,
    JOB_NAMES,
    PROCESS_WEBHOOK_EVENTS,
    RECONCILE_COMPANY,
    SYNC_COMPANY,
    CronSchedule,
)
from qbo_integration.reconciliation import tasks as reconciliation_tasks
from qbo_integration.sync import intake as sync_intake
from qbo_integration.sync import tasks as sync_tasks
from qbo_integration.webhooks import tasks as webhooks_tasks
from qbo_integration.worker import system_tasks

logger = logging.getLogger(__name__)

FUNCTIONS: list[Any] = [
    *system_tasks.FUNCTIONS, *monitoring_tasks.FUNCTIONS, *exports_tasks.FUNCTIONS, *sync_tasks.FUNCTIONS,
    *directory_tasks.FUNCTIONS, *webhooks_tasks.FUNCTIONS, *reconciliation_tasks.FUNCTIONS, *connections_tasks.FUNCTIONS,
]

# Why a job's QBO reads are made, unless the code inside says more precisely (qbo.purpose: the innermost
# tag wins). A sync job reads only to settle a write whose answer was lost or a stale SyncToken.
JOB_READ_PURPOSES = {SYNC_COMPANY: purposes.SETTLE_UNKNOWN_WRITE, IMPORT_DIRECTORY: purposes.DIRECTORY_REFRESH,
                     RECONCILE_COMPANY: purposes.RECONCILIATION, PROCESS_WEBHOOK_EVENTS: purposes.DRIFT_CHECK}


def _reading_for(fn: Any, purpose: str) -> Any:
    @functools.wraps(fn)
    async def job(*args: Any, **kwargs: Any) -> Any:
        with reading_for(purpose):
            return await fn(*args, **kwargs)
    return job


FUNCTIONS = [_reading_for(f, JOB_READ_PURPOSES[f.__name__]) if f.__name__ in JOB_READ_PURPOSES else f
             for f in FUNCTIONS]

_MISSING = set(JOB_NAMES) - {f.__name__ for f in FUNCTIONS}
assert not _MISSING, f"job names with no registered function: {_MISSING}"


def _arq_cron(s: CronSchedule) -> CronJob:
    return cron(s.coroutine, hour=s.hour, minute=s.minute, second=s.second,  # type: ignore[arg-type]
                run_at_startup=s.run_at_startup, unique=s.unique, timeout=s.timeout)


def cron_jobs() -> list[CronJob]:
    """The cron jobs, built when the worker starts (the sweep's period is read from the settings then)."""
    schedules = [*system_tasks.CRON_JOBS, *monitoring_tasks.CRON_JOBS, *exports_tasks.CRON_JOBS,
                 *sync_tasks.cron_jobs(), *directory_tasks.CRON_JOBS, *reconciliation_tasks.CRON_JOBS,
                 *webhooks_tasks.CRON_JOBS, *connections_tasks.CRON_JOBS]
    return [_arq_cron(s) for s in schedules]


async def dispatch_event(ctx: dict[str, Any], event: CoreEvent) -> None:
    """Hand a valid Core event to the sync intake."""
    await sync_intake.handle_event(ctx, event)
