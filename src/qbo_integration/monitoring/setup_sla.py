"""The 48-hour guarantee's watch: alert at each threshold (default 24 h and 40 h) while setup is incomplete."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.clock import utc_now
from qbo_integration.config import Settings
from qbo_integration.monitoring import notify
from qbo_integration.monitoring.models import SetupChecklist
from qbo_integration.monitoring.setup import STEP_LABELS, STEPS


async def check_setup_sla(session: AsyncSession, settings: Settings, *, now: datetime | None = None) -> int:
    """Queue one alert per company per newly crossed threshold (the highest, if several). Never commits."""
    now = now or utc_now()
    thresholds = settings.setup_alert_hours
    if not thresholds:
        return 0
    deadline = timedelta(hours=settings.setup_deadline_hours)
    rows = (await session.execute(
        select(SetupChecklist)
        .where(SetupChecklist.completed_at.is_(None),
               SetupChecklist.started_at <= now - timedelta(hours=min(thresholds)))
        .with_for_update(skip_locked=True)
    )).scalars().all()
    queued = 0
    for row in rows:
        elapsed_h = (now - row.started_at).total_seconds() / 3600
        done = {float(h) for h in (row.alerts_sent or [])}
        crossed = [h for h in thresholds if elapsed_h >= h and h not in done]
        if not crossed:
            continue
        remaining = [STEP_LABELS[s] for s in STEPS if getattr(row, f"{s}_at") is None]
        await notify.setup_deadline_near(session, row.company_id, threshold_hours=max(crossed),
                                         elapsed_hours=elapsed_h, remaining_steps=remaining,
                                         deadline_at=row.started_at + deadline, now=now)
        row.alerts_sent = sorted(done | set(crossed))
        queued += 1
    await session.flush()
    return queued
