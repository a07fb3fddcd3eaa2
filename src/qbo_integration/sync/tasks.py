"""arq jobs of the sync domain: the per-company sync job and the sweep cron."""

from __future__ import annotations

import uuid
from typing import Any

from qbo_integration.config import get_settings
from qbo_integration.queue import CronSchedule
from qbo_integration.sync import engine
from qbo_integration.sync import sweep as sweep_mod


async def sync_company(ctx: dict[str, Any], company_id: str, job_id: str | None = None) -> dict[str, Any]:
    """Push a company's due outbox rows to QBO (job ids `sync:{company_id}:...`)."""
    trigger = "sync_now" if job_id else "event"
    return await engine.run_company_sync(ctx, uuid.UUID(str(company_id)),
                                         uuid.UUID(str(job_id)) if job_id else None, trigger)


async def sweep(ctx: dict[str, Any]) -> dict[str, Any]:
    """Every `sync_sweep_minutes`: find timecards whose events were lost, and due retries."""
    return await sweep_mod.sweep(ctx)


def _sweep_minutes() -> set[int]:
    every = max(1, min(60, int(get_settings().sync_sweep_minutes or 15)))
    return set(range(0, 60, every))


FUNCTIONS: list[Any] = [sync_company, sweep]
def cron_jobs() -> list[CronSchedule]:
    """Read at the worker's start-up (the sweep's period is a setting)."""
    return [CronSchedule(sweep, minute=_sweep_minutes(), second=20, unique=True, run_at_startup=True, timeout=600)]
