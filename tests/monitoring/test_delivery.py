"""Alert delivery to a real SMTP server on loopback; an outage delays alerts and loses none."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import pytest
from sqlalchemy import select

from qbo_integration.monitoring import alerts, delivery, notify
from qbo_integration.monitoring.models import AlertOutbox
from tests.monitoring.smtp import Inbox, SmtpServer, free_port

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def smtp_settings(settings, port: int):
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False})


async def _rows(sessionmaker) -> list[AlertOutbox]:
    async with sessionmaker() as s:
        return list((await s.execute(select(AlertOutbox).order_by(AlertOutbox.created_at))).scalars())


async def test_alert_is_emailed_to_the_company_admin(sessionmaker, settings, company, smtp):
    async with sessionmaker() as s:
        await notify.breaker_opened(s, company.id, reopens_at=T0 + timedelta(minutes=30), failures=5, now=T0)
        await s.commit()
    result = await delivery.drain(sessionmaker, smtp_settings(settings, smtp.port), now=T0)
    assert result.sent == 1
    assert smtp.inbox.envelopes == [(settings.alert_from, ["admin@acme.test"])]
    msg = smtp.inbox.messages[0]
    assert msg["Subject"] == "QuickBooks sync paused (circuit breaker open)"
    assert msg["X-CrewFlow-Alert"] == "breaker_open"
    assert "2026-11-25 12:30 UTC" in msg.get_payload(decode=True).decode()
    (row,) = await _rows(sessionmaker)
    assert row.state == "sent" and row.sent_at == T0 and row.attempts == 1
    # nothing left to send
    assert (await delivery.drain(sessionmaker, smtp_settings(settings, smtp.port), now=T0)).sent == 0


async def test_smtp_outage_delays_and_loses_nothing(sessionmaker, settings, company):
    port = free_port()
    cfg = smtp_settings(settings, port)
    async with sessionmaker() as s:
        await alerts.queue_alert(s, company.id, alerts.CONNECTION_LOST, "QuickBooks connection lost: please reconnect", "body",
                                 now=T0)  # as connections.service.mark_lost queues it
        await notify.timecards_dead_lettered(s, company.id, 3, now=T0)
        await s.commit()
    # the server is down: both stay pending, with backoff
    r1 = await delivery.drain(sessionmaker, cfg, now=T0)
    assert (r1.sent, r1.failed) == (0, 1)
    rows = await _rows(sessionmaker)
    assert [r.state for r in rows] == ["pending", "pending"]
    failed = [r for r in rows if r.attempts == 1][0]
    assert failed.next_attempt_at == T0 + timedelta(seconds=30) and "Connect" in (failed.last_error or "")
    r2 = await delivery.drain(sessionmaker, cfg, now=T0 + timedelta(seconds=31))
    assert r2.failed == 1
    # before the backoff ends nothing is retried
    assert (await delivery.drain(sessionmaker, cfg, now=T0 + timedelta(seconds=32))).failed == 1
    # the server comes back: everything is delivered once the rows are due
    server = SmtpServer(port).start()
    try:
        r3 = await delivery.drain(sessionmaker, cfg, now=T0 + timedelta(minutes=10))
        assert r3.sent == 2
        assert sorted(server.inbox.subjects()) == sorted([
            "QuickBooks connection lost: please reconnect", "3 timecard(s) failed to sync to QuickBooks"])
    finally:
        server.stop()
    assert {r.state for r in await _rows(sessionmaker)} == {"sent"}


async def test_dev_mode_logs_alerts_instead(sessionmaker, settings, company, caplog):
    async with sessionmaker() as s:
        await alerts.queue_alert(s, company.id, "connection_lost", "Subject here", "Body here", now=T0)
        await s.commit()
    with caplog.at_level(logging.WARNING, logger="qbo_integration.monitoring.delivery"):
        result = await delivery.drain(sessionmaker, settings, now=T0)  # no SMTP_HOST
    assert result.logged == 1
    (row,) = await _rows(sessionmaker)
    assert row.state == "logged"
    assert any(getattr(r, "fields", {}).get("subject") == "Subject here" for r in caplog.records)


def test_backoff_grows_and_is_capped():
    assert delivery.backoff(1) == timedelta(seconds=30)
    assert delivery.backoff(3) == timedelta(minutes=2)
    assert delivery.backoff(30) == timedelta(hours=1)


class LockProbingInbox(Inbox):
    """While the message is being received, try to lock its alert row from another connection (NOWAIT)."""

    def __init__(self, dsn: str) -> None:
        super().__init__()
        self.dsn = dsn
        self.probes: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        import asyncpg

        alert_id = message_from_bytes(envelope.content)["X-CrewFlow-Alert-Id"]
        conn = await asyncpg.connect(self.dsn)
        try:
            async with conn.transaction():
                await conn.execute(f"SELECT 1 FROM {AlertOutbox.__table__.fullname} WHERE id = $1 FOR UPDATE NOWAIT",
                                   uuid.UUID(alert_id))
            self.probes.append("free")
        except asyncpg.exceptions.LockNotAvailableError:
            self.probes.append("locked")
        finally:
            await conn.close()
        return await super().handle_DATA(server, session, envelope)


async def test_no_row_lock_is_held_while_smtp_talks(sessionmaker, settings, company, database_url):
    server = SmtpServer()
    server.inbox = LockProbingInbox(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    server.start()
    try:
        async with sessionmaker() as s:
            await notify.breaker_opened(s, company.id, reopens_at=T0 + timedelta(minutes=30), failures=5, now=T0)
            await s.commit()
        assert (await delivery.drain(sessionmaker, smtp_settings(settings, server.port), now=T0)).sent == 1
    finally:
        server.stop()
    assert server.inbox.probes == ["free"]
    (row,) = await _rows(sessionmaker)
    assert row.state == "sent" and row.attempts == 1
