"""arq jobs of the exports domain."""

from __future__ import annotations

import uuid
from typing import Any

from qbo_integration import logs
from qbo_integration.exports.service import export_and_notify
from qbo_integration.exports.storage import storage_for
from qbo_integration.queue import DELIVER_ALERTS, CronSchedule, commit_and_flush


async def export_unsynced(ctx: dict[str, Any], company_id: str, reason: str = "breaker_open") -> dict[str, Any]:
    """Fallback CSV of the company's unsynced approved timecards, stored and emailed to the admin."""
    settings = ctx["settings"]
    with logs.log_context(company_id=company_id, job_id=ctx.get("job_id")):
        async with ctx["sessionmaker"]() as session:
            row = await export_and_notify(session, settings, storage_for(settings), uuid.UUID(company_id), reason)
            if row is not None:
                ctx["queue"].after_commit(session, DELIVER_ALERTS)
            await commit_and_flush(session, ctx["queue"])
    return {"exportId": str(row.id) if row else None, "rows": row.row_count if row else 0}


FUNCTIONS: list[Any] = [export_unsynced]
CRON_JOBS: list[CronSchedule] = []
