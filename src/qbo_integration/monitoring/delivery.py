"""Drain the alert outbox: send due rows by SMTP, or log them in dev mode (no SMTP_HOST).

Each row is claimed with FOR UPDATE SKIP LOCKED in a short transaction that leases it (pushes
`next_attempt_at` past the send's longest time) and commits, so several workers can drain at once
without sending an email twice, and no transaction or row lock is held across the SMTP
conversation. The outcome is written in a second transaction. A sender that dies mid-send leaves
the row due again once the lease runs out (at least once, as before). An SMTP failure leaves the row `pending`
with a later `next_attempt_at` (exponential backoff, capped): alerts are delayed, never lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration import logs
from qbo_integration.clock import utc_now
from qbo_integration.config import Settings
from qbo_integration.metrics import ALERTS_SENT
from qbo_integration.monitoring.audit import redact_text
from qbo_integration.monitoring.models import AlertOutbox

logger = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


async def outbox_by_state(session: AsyncSession, states: tuple[str, ...]) -> dict[str, int]:
    """Alert outbox rows per state (the metrics scrape)."""
    return {state: int(n) for state, n in (await session.execute(
        select(AlertOutbox.state, func.count()).where(AlertOutbox.state.in_(states)).group_by(AlertOutbox.state)
    )).all()}


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))


@dataclass
class DrainResult:
    sent: int = 0
    logged: int = 0
    failed: int = 0


def build_message(settings: Settings, row: AlertOutbox, recipients: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.alert_from
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = row.subject
    msg["X-CrewFlow-Alert"] = row.kind
    msg["X-CrewFlow-Alert-Id"] = str(row.id)
    msg.set_content(row.body)
    return msg


async def send_email(settings: Settings, msg: EmailMessage) -> None:
    await aiosmtplib.send(
        msg,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        start_tls=True if settings.smtp_starttls else False,
        timeout=settings.smtp_timeout_seconds,
    )


async def _claim(session: AsyncSession, now: datetime) -> AlertOutbox | None:
    stmt = (
        select(AlertOutbox)
        .where(AlertOutbox.state == "pending", AlertOutbox.next_attempt_at <= now)
        .order_by(AlertOutbox.next_attempt_at, AlertOutbox.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def _recipients(settings: Settings, row: AlertOutbox) -> list[str]:
    return list(row.recipients or []) or ([settings.alert_fallback_email] if settings.alert_fallback_email else [])


def _lease(settings: Settings) -> timedelta:
    # aiosmtplib's timeout is per step (connect, EHLO, MAIL, RCPT, DATA...): outlast them all.
    return timedelta(seconds=max(120.0, 8 * settings.smtp_timeout_seconds))


def _log_instead(settings: Settings, row: AlertOutbox, now: datetime) -> str:
    logger.warning(
        "alert (not emailed: %s)", "no SMTP_HOST" if not settings.smtp_host else "no recipient",
        extra=logs.log_fields(alert_id=str(row.id), kind=row.kind, subject=row.subject, body=row.body),
    )
    row.state, row.sent_at, row.attempts = "logged", now, row.attempts + 1
    ALERTS_SENT.labels(kind=row.kind, outcome="logged").inc()
    return "logged"


def _settle(row: AlertOutbox, now: datetime, exc: Exception | None) -> str:
    """Write the outcome of a send onto the (re-read) row."""
    with logs.log_context(company_id=row.company_id):
        if exc is not None:
            row.attempts += 1
            row.next_attempt_at = now + backoff(row.attempts)
            row.last_error = redact_text(f"{type(exc).__name__}: {exc}")
            ALERTS_SENT.labels(kind=row.kind, outcome="retry").inc()
            logger.warning("alert email failed; will retry",
                           extra=logs.log_fields(alert_id=str(row.id), kind=row.kind, attempts=row.attempts,
                                                 next_attempt_at=row.next_attempt_at.isoformat(),
                                                 error=row.last_error))
            return "failed"
        row.state, row.sent_at, row.attempts, row.last_error = "sent", now, row.attempts + 1, None
        ALERTS_SENT.labels(kind=row.kind, outcome="sent").inc()
        logger.info("alert emailed", extra=logs.log_fields(alert_id=str(row.id), kind=row.kind))
        return "sent"


async def _deliver_next(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                        at: datetime) -> str | None:
    """Claim, lease and send the next due alert; None when nothing is due."""
    async with sessionmaker() as session:
        row = await _claim(session, at)
        if row is None:
            return None
        recipients = _recipients(settings, row)
        if not settings.smtp_host or not recipients:  # no network: done in the claiming transaction
            with logs.log_context(company_id=row.company_id):
                outcome = _log_instead(settings, row, at)
            await session.commit()
            return outcome
        row_id, msg = row.id, build_message(settings, row, recipients)
        row.next_attempt_at = at + _lease(settings)
        await session.commit()  # lease taken, lock released: nothing is held while SMTP talks
    failure: Exception | None = None
    try:
        await send_email(settings, msg)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        failure = exc
    async with sessionmaker() as session:
        leased = await session.get(AlertOutbox, row_id, with_for_update=True)
        if leased is None:  # purged meanwhile
            return "failed" if failure else "sent"
        outcome = _settle(leased, at, failure)
        await session.commit()
    return outcome


async def drain(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *,
                now: datetime | None = None, limit: int = 100) -> DrainResult:
    """Deliver up to `limit` due alerts. Stops early after an SMTP failure (the server is likely down)."""
    result = DrainResult()
    for _ in range(limit):
        at = now or utc_now()
        outcome = await _deliver_next(sessionmaker, settings, at)
        if outcome is None:
            break
        setattr(result, outcome, getattr(result, outcome) + 1)
        if outcome == "failed":
            break
    return result
