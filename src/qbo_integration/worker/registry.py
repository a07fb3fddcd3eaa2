"""What the worker runs: each domain contributes functions, cron jobs and event handling here."""

from __future__ import annotations

import logging
from typing import Any

from qbo_integration.worker import system_tasks
from qbo_integration.worker.events import CoreEvent

logger = logging.getLogger(__name__)

# Domains add their `tasks.FUNCTIONS` / `tasks.CRON_JOBS` here.
FUNCTIONS: list[Any] = [*system_tasks.FUNCTIONS]
CRON_JOBS: list[Any] = [*system_tasks.CRON_JOBS]


async def dispatch_event(ctx: dict[str, Any], event: CoreEvent) -> None:
    """Hand a valid Core event to the sync intake."""
    logger.info("event accepted", extra={"fields": {"event": event.event, "version": event.version}})
