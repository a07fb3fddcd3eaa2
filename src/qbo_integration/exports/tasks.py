"""arq jobs of the exports domain."""

from __future__ import annotations

import uuid
from typing import Any

from qbo_integration import logs
from qbo_integration.exports.service import export_and_notify
from qbo_integration.exports.storage import storage_for
from qbo_integration.queue import CronSchedule


async def export_unsynced(ctx: dict[str, Any], company_id: str, reason: str = "breaker_open") -> dict[str, Any]:
    """Fallback CSV of the company's unsynced approved timecards, stored and emailed to the admin."""
    settings = ctx["settings"]
    with logs.log_context(company_id=company_id, job_id=ctx.get("job_id")):
        row = await export_and_notify(ctx["sessionmaker"], settings, storage_for(settings), ctx["queue"],
                                      uuid.UUID(company_id), reason)
    return {"exportId": str(row.id) if row else None, "rows": row.row_count if row else 0}


FUNCTIONS: list[Any] = [export_unsynced]
CRON_JOBS: list[CronSchedule] = []
