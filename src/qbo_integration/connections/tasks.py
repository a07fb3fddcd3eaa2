"""arq jobs of the connections domain: the daily refresh-token expiry watch."""

from __future__ import annotations

from typing import Any

from qbo_integration.connections import expiry
from qbo_integration.queue import DELIVER_ALERTS, CronSchedule, commit_and_flush


async def check_token_expiry(ctx: dict[str, Any]) -> int:
    async with ctx["sessionmaker"]() as session:
        n = await expiry.alert_expiring(session, ctx["settings"].public_base_url)
        if n:
            ctx["queue"].after_commit(session, DELIVER_ALERTS)
        await commit_and_flush(session, ctx["queue"])
    return n


FUNCTIONS: list[Any] = [check_token_expiry]
CRON_JOBS: list[CronSchedule] = [CronSchedule(check_token_expiry, hour=6, minute=41, second=0, unique=True)]
