"""What the worker runs: each domain contributes functions, cron jobs and event handling here."""

from __future__ import annotations

import logging
from typing import Any

from qbo_integration.exports import tasks as exports_tasks
from qbo_integration.mapping import tasks as mapping_tasks
from qbo_integration.monitoring import tasks as monitoring_tasks
from qbo_integration.reconciliation import tasks as reconciliation_tasks
from qbo_integration.sync import intake as sync_intake
from qbo_integration.sync import tasks as sync_tasks
from qbo_integration.webhooks import tasks as webhooks_tasks
from qbo_integration.worker import system_tasks
from qbo_integration.worker.events import CoreEvent

logger = logging.getLogger(__name__)

# Domains add their `tasks.FUNCTIONS` / `tasks.CRON_JOBS` here.
FUNCTIONS: list[Any] = [*system_tasks.FUNCTIONS]
CRON_JOBS: list[Any] = [*system_tasks.CRON_JOBS]
FUNCTIONS += [*monitoring_tasks.FUNCTIONS, *exports_tasks.FUNCTIONS]
CRON_JOBS += [*monitoring_tasks.CRON_JOBS, *exports_tasks.CRON_JOBS]
FUNCTIONS += [*sync_tasks.FUNCTIONS]
CRON_JOBS += [*sync_tasks.CRON_JOBS]
FUNCTIONS += [*mapping_tasks.FUNCTIONS]
CRON_JOBS += [*mapping_tasks.CRON_JOBS]
FUNCTIONS += [*webhooks_tasks.FUNCTIONS, *reconciliation_tasks.FUNCTIONS]
CRON_JOBS += [*reconciliation_tasks.CRON_JOBS]


async def dispatch_event(ctx: dict[str, Any], event: CoreEvent) -> None:
    """Hand a valid Core event to the sync intake."""
    await sync_intake.handle_event(ctx, event)
