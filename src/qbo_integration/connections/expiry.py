"""The daily watch on refresh-token expiry: alert each connected company's admin 30 and 7 days before
the grant ends (the earlier of the rolling and the hard expiry), once each, with the reconnect link."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.clock import utc_now
from qbo_integration.connections.models import Integration
from qbo_integration.monitoring import notify, token_expiry


async def alert_expiring(session: AsyncSession, public_base_url: str, *, now: datetime | None = None) -> int:
    """Queue the alerts due now; returns how many were queued (a repeat is suppressed). Never commits."""
    now = now or utc_now()
    horizon = now + timedelta(days=token_expiry.WARN_DAYS)
    rows = (await session.execute(
        select(Integration.company_id, Integration.refresh_token_expires_at, Integration.refresh_token_hard_expires_at)
        .where(Integration.connection_status == "connected",
               or_(Integration.refresh_token_expires_at <= horizon,
                   Integration.refresh_token_hard_expires_at <= horizon))
        .order_by(Integration.company_id)
    )).all()
    url = token_expiry.reconnect_url(public_base_url)
    queued = 0
    for company_id, rolling, hard in rows:
        due = token_expiry.deadline(rolling, hard)
        stage = token_expiry.alert_stage(due.at, now) if due is not None else None
        if due is None or stage is None:
            continue
        row = await notify.refresh_token_expiring(session, company_id, at=due.at, hard=due.hard,
                                                  days_left=due.days_left(now), stage=stage, reconnect_url=url,
                                                  now=now)
        queued += row is not None
    return queued
