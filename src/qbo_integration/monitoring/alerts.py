"""Queue alert emails in the outbox: one alert per condition per cool-down, never lost.

`queue_alert` only adds an `alert_outbox` row to the caller's transaction (never commits);
`monitoring.delivery` sends due rows by SMTP (or logs them in dev mode) with backoff.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.clock import utc_now
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.monitoring.models import AlertOutbox

DEFAULT_COOLDOWN = timedelta(hours=1)  # ALERT_COOLDOWN_MINUTES' default
_cooldown = DEFAULT_COOLDOWN


def configure(cooldown: timedelta) -> None:
    """Set the cool-down every alert kind uses unless it asks for its own (ALERT_COOLDOWN_MINUTES, set once
    at start-up by services.build_services)."""
    global _cooldown
    _cooldown = cooldown


# Kinds in use (free text is allowed; these are what the service itself raises).
BREAKER_OPEN = "breaker_open"
BREAKER_CLOSED = "breaker_closed"
CONNECTION_LOST = "connection_lost"
DEAD_LETTERED = "dead_lettered"
SETUP_DEADLINE = "setup_deadline"
EXPORT_READY = "export_ready"
REFRESH_EXPIRING = "refresh_token_expiring"
READ_BUDGET = "qbo_read_budget"  # app-wide: no company


def utcnow() -> datetime:
    return utc_now()


async def admin_recipients(session: AsyncSession, company_id: uuid.UUID | None,
                           fallback: str | None = None) -> list[str]:
    """The company's admin email (core gateway), else the fallback address, else nobody."""
    if company_id is not None:
        company = await CoreGateway(session).get_company(company_id)
        if company and company.admin_email:
            return [company.admin_email]
    return [fallback] if fallback else []


async def queue_alert(
    session: AsyncSession,
    company_id: uuid.UUID | None,
    kind: str,
    subject: str,
    body: str,
    dedupe_key: str | None = None,
    cooldown: timedelta | None = None,
    *,
    recipients: list[str] | None = None,
    now: datetime | None = None,
) -> AlertOutbox | None:
    """Add an outbox row unless one with the same company/kind/dedupe key was queued within `cooldown`.

    Returns the new row, or None when suppressed. Concurrent callers are serialised by a
    transaction-scoped advisory lock, so two workers never queue the same alert twice.
    Never commits: the caller's request or job boundary does.
    """
    if not kind or len(kind) > 50:
        raise ValueError("alert kind must be 1-50 characters")
    if cooldown is None:
        cooldown = _cooldown
    now = now or utcnow()
    lock_name = f"alert:{company_id}:{kind}:{dedupe_key or ''}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(lock_name, 0))))
    if cooldown > timedelta(0):
        recent = await session.execute(
            select(AlertOutbox.id)
            .where(
                AlertOutbox.company_id.is_not_distinct_from(company_id),
                AlertOutbox.kind == kind,
                AlertOutbox.dedupe_key.is_not_distinct_from(dedupe_key),
                AlertOutbox.created_at > now - cooldown,
            )
            .limit(1)
        )
        if recent.first() is not None:
            return None
    if recipients is None:
        recipients = await admin_recipients(session, company_id)
    row = AlertOutbox(
        id=uuid.uuid4(), company_id=company_id, kind=kind, dedupe_key=dedupe_key,
        recipients=list(recipients), subject=subject[:300], body=body, state="pending", attempts=0,
        next_attempt_at=now, created_at=now,
    )
    session.add(row)
    await session.flush()
    return row
