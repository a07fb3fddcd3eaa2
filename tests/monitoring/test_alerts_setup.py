"""queue_alert (cool-down, concurrency) and mark_step (first time only, completion, metric)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from qbo_integration.metrics import SETUP_SECONDS
from qbo_integration.monitoring import alerts, setup
from qbo_integration.monitoring.models import AlertOutbox, SetupChecklist

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def _count(sessionmaker, **where) -> int:
    async with sessionmaker() as s:
        stmt = select(func.count()).select_from(AlertOutbox)
        for k, v in where.items():
            stmt = stmt.where(getattr(AlertOutbox, k) == v)
        return (await s.execute(stmt)).scalar_one()


async def test_queue_alert_once_per_cooldown_and_uses_admin_email(sessionmaker, company):
    async with sessionmaker() as s:
        row = await alerts.queue_alert(s, company.id, "breaker_open", "Paused", "body", now=T0)
        assert row is not None and row.recipients == ["admin@acme.test"] and row.state == "pending"
        assert await alerts.queue_alert(s, company.id, "breaker_open", "Paused", "b", now=T0 + timedelta(minutes=59)) is None
        # another dedupe key or kind is another condition
        assert await alerts.queue_alert(s, company.id, "breaker_open", "x", "b", dedupe_key="k2", now=T0) is not None
        assert await alerts.queue_alert(s, company.id, "breaker_closed", "x", "b", now=T0) is not None
        await s.commit()
    async with sessionmaker() as s:
        again = await alerts.queue_alert(s, company.id, "breaker_open", "Paused", "b", now=T0 + timedelta(minutes=61))
        assert again is not None
        await s.commit()
    assert await _count(sessionmaker, kind="breaker_open") == 3


async def test_queue_alert_never_commits(sessionmaker, company):
    async with sessionmaker() as s:
        await alerts.queue_alert(s, company.id, "connection_lost", "s", "b")
        await s.rollback()
    assert await _count(sessionmaker) == 0


async def test_concurrent_queue_alert_yields_one_row(sessionmaker, company):
    async def one() -> None:
        async with sessionmaker() as s:
            await alerts.queue_alert(s, company.id, "dead_lettered", "s", "b", now=T0)
            await asyncio.sleep(0.05)
            await s.commit()

    await asyncio.gather(*(one() for _ in range(5)))
    assert await _count(sessionmaker, kind="dead_lettered") == 1


async def test_unknown_company_has_no_recipients(sessionmaker):
    async with sessionmaker() as s:
        row = await alerts.queue_alert(s, uuid.uuid4(), "connection_lost", "s", "b")
        assert row is not None and row.recipients == []


async def test_mark_step_first_time_only_and_completes(sessionmaker, company):
    before = SETUP_SECONDS._sum.get()
    async with sessionmaker() as s:
        assert await setup.mark_step(s, company.id, "connected", now=T0)
        assert not await setup.mark_step(s, company.id, "connected", now=T0 + timedelta(hours=1))
        await s.commit()
    for i, step in enumerate(setup.STEPS[1:], start=1):
        async with sessionmaker() as s:
            assert await setup.mark_step(s, company.id, step, now=T0 + timedelta(hours=i))
            await s.commit()
    async with sessionmaker() as s:
        row = (await s.execute(select(SetupChecklist))).scalar_one()
        assert row.connected_at == T0 and row.started_at == T0
        assert row.completed_at == T0 + timedelta(hours=5)
        summary = await setup.get_summary(s, company.id, now=T0 + timedelta(hours=100))
        assert summary.complete and summary.elapsed_seconds == 5 * 3600 and summary.done_count == 6
    assert SETUP_SECONDS._sum.get() - before == pytest.approx(5 * 3600)
    # marking again later neither changes the completion nor observes again
    async with sessionmaker() as s:
        assert not await setup.mark_step(s, company.id, "first_timecard_synced", now=T0 + timedelta(hours=9))
        await s.commit()
    assert SETUP_SECONDS._sum.get() - before == pytest.approx(5 * 3600)


async def test_mark_step_rejects_unknown_step(sessionmaker, company):
    async with sessionmaker() as s:
        with pytest.raises(ValueError, match="unknown setup step"):
            await setup.mark_step(s, company.id, "made_coffee")


async def test_ensure_started_keeps_first_start(sessionmaker, company):
    async with sessionmaker() as s:
        await setup.ensure_started(s, company.id, now=T0)
        await setup.ensure_started(s, company.id, now=T0 + timedelta(hours=3))
        assert await setup.mark_step(s, company.id, "mapping_saved", now=T0 + timedelta(hours=4))
        await s.commit()
    async with sessionmaker() as s:
        summary = await setup.get_summary(s, company.id, now=T0 + timedelta(hours=10))
        assert summary.started_at == T0 and not summary.complete
        assert summary.remaining_seconds == 38 * 3600


@pytest.fixture
async def five_minute_cooldown(settings, sessionmaker, redis):
    """Services built with ALERT_COOLDOWN_MINUTES=5, as the API and the worker build them."""
    from qbo_integration.services import build_services

    built = await build_services(settings.model_copy(update={"alert_cooldown_minutes": 5}), sessionmaker, redis)
    yield
    await built.aclose()
    alerts.configure(alerts.DEFAULT_COOLDOWN)


@pytest.mark.parametrize("kind", ["connection_lost", "dead_lettered"])
async def test_every_alert_kind_honours_alert_cooldown_minutes(sessionmaker, company, five_minute_cooldown, kind):
    """Not only the breaker's alerts: the connection-lost and dead-letter alerts used a fixed hour."""
    from qbo_integration.monitoring import notify

    async def queue(at: datetime) -> AlertOutbox | None:
        async with sessionmaker() as s:
            if kind == "connection_lost":  # the call connections.service.mark_lost makes
                row = await alerts.queue_alert(s, company.id, alerts.CONNECTION_LOST, "lost", "body",
                                               dedupe_key="connection_lost:realm-1", now=at)
            else:
                row = await notify.timecards_dead_lettered(s, company.id, 1, now=at)
            await s.commit()
            return row

    assert await queue(T0) is not None
    assert await queue(T0 + timedelta(minutes=4)) is None  # within the 5 minutes
    assert await queue(T0 + timedelta(minutes=6)) is not None  # the old fixed hour suppressed this one
    assert await _count(sessionmaker, kind=kind) == 2
