"""Jobs of the webhooks domain."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from qbo_integration.clock import utc_now
from qbo_integration.logs import log_fields
from qbo_integration.queue import CronSchedule
from qbo_integration.webhooks import reactions, service

logger = logging.getLogger(__name__)


async def process_webhook_events(ctx: dict[str, Any], company_id: str | uuid.UUID) -> dict[str, Any]:
    """Act on one company's stored webhook events (queued by the webhook route, and by itself while more wait)."""
    return await reactions.process(ctx["sessionmaker"], ctx["services"].qbo, ctx["queue"], ctx["redis"], company_id)


async def queue_waiting_webhook_events(ctx: dict[str, Any]) -> int:
    """Every minute: a job for every company whose events wait (the longest-waiting first), in case the
    queue lost one (a Redis restart) or a job died before queueing its next."""
    now = utc_now()
    async with ctx["sessionmaker"]() as s:
        companies = await service.companies_waiting(s, now=now)
    for cid in companies:
        await ctx["queue"].enqueue(service.PROCESS_FUNCTION, str(cid), _job_id=f"webhooks:{cid}:cron:{now:%Y%m%d%H%M}")
    if companies:
        logger.info("webhook jobs queued for waiting events", extra=log_fields(companies=len(companies)))
    return len(companies)


FUNCTIONS: list[Any] = [process_webhook_events]
CRON_JOBS: list[CronSchedule] = [CronSchedule(queue_waiting_webhook_events, second=40, unique=True)]
