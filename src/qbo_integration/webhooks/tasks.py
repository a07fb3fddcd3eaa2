"""Jobs of the webhooks domain."""

from __future__ import annotations

import uuid
from typing import Any

from qbo_integration.queue import CronSchedule
from qbo_integration.webhooks import reactions


async def process_webhook_events(ctx: dict[str, Any], company_id: str | uuid.UUID) -> dict[str, Any]:
    """Act on one company's stored webhook events (queued by the webhook route)."""
    return await reactions.process(ctx["sessionmaker"], ctx["services"].qbo, ctx["queue"], company_id)


FUNCTIONS: list[Any] = [process_webhook_events]
CRON_JOBS: list[CronSchedule] = []
