"""arq jobs of the monitoring domain: alert delivery, the setup SLA watch, audit retention."""

from __future__ import annotations

from typing import Any

from qbo_integration.monitoring import delivery, retention, setup_sla
from qbo_integration.queue import DELIVER_ALERTS, CronSchedule, commit_and_flush


async def deliver_alerts(ctx: dict[str, Any]) -> dict[str, int]:
    """Send due alert emails (or log them in dev mode). Also runs every minute as a cron."""
    result = await delivery.drain(ctx["sessionmaker"], ctx["settings"])
    return {"sent": result.sent, "logged": result.logged, "failed": result.failed}


async def check_setup_sla(ctx: dict[str, Any]) -> int:
    async with ctx["sessionmaker"]() as session:
        n = await setup_sla.check_setup_sla(session, ctx["settings"])
        if n:
            ctx["queue"].after_commit(session, DELIVER_ALERTS)
        await commit_and_flush(session, ctx["queue"])
    return n


async def purge_audit_log(ctx: dict[str, Any]) -> int:
    """Audit rows past AUDIT_RETENTION_DAYS, then what else the services keep for a time (services.retention:
    the sync story)."""
    n = await retention.purge_audit_log(ctx["sessionmaker"], days=ctx["settings"].audit_retention_days)
    for prune in getattr(ctx.get("services"), "retention", ()):
        n += await prune(ctx["sessionmaker"], ctx["settings"])
    return n


FUNCTIONS: list[Any] = [deliver_alerts, check_setup_sla, purge_audit_log]
CRON_JOBS: list[CronSchedule] = [
    CronSchedule(deliver_alerts, second=30, unique=True, run_at_startup=True),  # every minute
    CronSchedule(check_setup_sla, minute=set(range(0, 60, 10)), second=5, unique=True),
    CronSchedule(purge_audit_log, hour=3, minute=17, second=0, unique=True),
]
