"""The QBO client's observer (qbo/observer.py hooks): metrics, breaker alerts, the fallback export.

Pass one to `QboApi(..., observer=MonitoringObserver(sessionmaker, settings, queue, integration_id=...))` in
services.py. `integration_id` (connections.service.integration_id, handed in: connections sits above
monitoring) finds the company's integration for the audit row.
Breaker transitions are atomic in Redis, so exactly one process sees each one and reacts once:

* closed -> open: alert email (`breaker_open`), audit row, a fallback CSV job (`export_unsynced`);
* half_open -> open (the trial failed): audit row only (the alert's cool-down covers the storm);
* open/half_open -> closed: "resumed" email (`breaker_closed`), audit row.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration import logs
from qbo_integration.clock import utc_now
from qbo_integration.config import Settings
from qbo_integration.metrics import (
    BREAKER_STATE,
    LIMITER_WAIT,
    QBO_CALLS,
    QBO_READS,
    QBO_READS_BY_PURPOSE,
    TOKEN_REFRESHES,
)
from qbo_integration.monitoring import audit, notify, read_budget, read_meter
from qbo_integration.qbo import purpose as purposes
from qbo_integration.queue import DELIVER_ALERTS, EXPORT_UNSYNCED, JobQueue, commit_and_flush

logger = logging.getLogger(__name__)

BREAKER_GAUGE = {"closed": 0.0, "half_open": 0.5, "open": 1.0}
IntegrationLookup = Callable[[AsyncSession, uuid.UUID], Awaitable[uuid.UUID | None]]


class MonitoringObserver:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                 queue: JobQueue | None = None, *, integration_id: IntegrationLookup, qbo: Any = None,
                 redis: Any = None) -> None:
        self.sessionmaker = sessionmaker
        self.integration_id = integration_id  # connections.service.integration_id, handed in by services.py
        self.redis = redis  # where read calls are counted per company and month
        self.settings = settings
        self.queue = queue  # handed in by services.py; None only where no breaker reaction is needed
        self.qbo = qbo  # the QboApi, to read reopens_at; set by whoever builds both

    @property
    def cooldown(self) -> timedelta:
        return timedelta(minutes=self.settings.alert_cooldown_minutes)

    def _queue(self) -> JobQueue:
        if self.queue is None:
            raise RuntimeError("the monitoring observer was built without a job queue")
        return self.queue

    # --- hooks ---
    async def on_call(self, status: int | None) -> None:
        QBO_CALLS.labels(status=str(status) if status is not None else "network_error").inc()

    async def on_read(self, company_id: str) -> None:
        why = purposes.current()
        QBO_READS.labels(company_id=str(company_id)).inc()
        QBO_READS_BY_PURPOSE.labels(purpose=why).inc()
        if self.redis is None:
            return
        try:
            total = await read_meter.count_read(self.redis, company_id, purpose=why)
            reached = read_budget.crossed(total)
            if reached is not None:
                await self._budget_alert(reached, total)
        except Exception:  # noqa: BLE001 - metering must never fail a QBO call
            logger.warning("could not count a QBO read", extra=logs.log_fields(company_id=company_id))

    async def _budget_alert(self, pct: int, total: int) -> None:
        """Exactly one read (the one whose count is the threshold's) raises each month's alert."""
        now = utc_now()
        logger.warning("the app's QBO reads this month reached %d%% of the budget", pct,
                       extra=logs.log_fields(reads=total, budget=read_budget.monthly()))
        async with self.sessionmaker() as session:
            await notify.read_budget_reached(session, percent=pct, reads=total, budget=read_budget.monthly(),
                                             month=f"{now:%Y-%m}", now=now)
            if self.queue is not None:
                self.queue.after_commit(session, DELIVER_ALERTS)
                await commit_and_flush(session, self.queue)
            else:
                await session.commit()

    async def on_limiter_wait(self, seconds: float) -> None:
        LIMITER_WAIT.observe(seconds)

    async def on_token_refresh(self, outcome: str) -> None:
        TOKEN_REFRESHES.labels(outcome=outcome).inc()

    async def on_breaker_change(self, company_id: str, old: str, new: str) -> None:
        BREAKER_STATE.labels(company_id=company_id).set(BREAKER_GAUGE.get(new, 0.0))
        if old == new:  # an admin reset (or a connect) of a breaker that was closed: nothing happened
            return
        try:
            await self._react(uuid.UUID(str(company_id)), old, new)
        except Exception:  # noqa: BLE001 - a hook must never break a QBO call; log loudly instead
            logger.exception("breaker alert handling failed", extra=logs.log_fields(company_id=company_id))

    async def _react(self, company_id: uuid.UUID, old: str, new: str) -> None:
        if new == "half_open":
            return
        state = await self.qbo.breaker_state(company_id) if self.qbo is not None else None
        queue = self._queue()
        now = utc_now()
        with logs.log_context(company_id=company_id):
            logger.warning("circuit breaker %s -> %s", old, new)
            async with self.sessionmaker() as session:
                integration_id = await self.integration_id(session, company_id)
                if integration_id is not None:
                    await audit.record(session, integration_id=integration_id, company_id=company_id,
                                 action=f"breaker_{new}", status="success" if new == "closed" else "failure",
                                 actor="system", request_payload={"from": old, "to": new},
                                 response_payload=state.to_dict() if state else None)
                if new == "open" and old == "closed":
                    await notify.breaker_opened(
                        session, company_id, reopens_at=state.reopens_at if state else None,
                        failures=state.failures if state else self._fail_max(), cooldown=self.cooldown, now=now)
                    queue.after_commit(session, DELIVER_ALERTS)  # no job id: open and close may share a second
                    opened = state.opened_at.timestamp() if state and state.opened_at else now.timestamp()
                    queue.after_commit(session, EXPORT_UNSYNCED, str(company_id), "breaker_open",
                                       _job_id=f"export:{company_id}:breaker:{opened:.0f}")
                elif new == "closed":
                    reason = "reset" if old == "open" else "recovered"
                    await notify.breaker_closed(session, company_id, reason=reason, cooldown=self.cooldown, now=now)
                    queue.after_commit(session, DELIVER_ALERTS)  # no job id: open and close may share a second
                await commit_and_flush(session, queue)

    def _fail_max(self) -> int:
        return int(getattr(getattr(getattr(self.qbo, "config", None), "breaker", None), "fail_max", 5))
