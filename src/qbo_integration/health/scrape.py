"""Scrape-time refresh of the gauges that need a database or Redis read (API `/metrics`).

Cheap by design: GROUP BY over indexed state columns (synced rows excluded), one ZCARD, a bounded
SCAN of breaker keys, and the app's read counts (three Redis keys). Results are cached for a few seconds
so several scrapers don't multiply the work. A failing part is counted and skipped; the scrape still answers.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.metrics import (
    ALERT_OUTBOX,
    APP_READ_BUDGET,
    APP_READS_DEFERRED,
    APP_READS_MONTH,
    BREAKER_STATE,
    OUTBOX_BACKLOG,
    QUEUE_DEPTH,
    SCRAPE_REFRESH_ERRORS,
)
from qbo_integration.monitoring import read_budget
from qbo_integration.monitoring.delivery import outbox_by_state
from qbo_integration.monitoring.qbo_observer import BREAKER_GAUGE
from qbo_integration.sync.stats import backlog_by_state

logger = logging.getLogger(__name__)

OUTBOX_STATES = ("pending", "in_flight", "failed", "dead")
ALERT_STATES = ("pending",)
CACHE_SECONDS = 5.0
MAX_BREAKER_KEYS = 5000
_last_refresh = 0.0


async def _db(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        rows = await backlog_by_state(session, OUTBOX_STATES)
        alerts = await outbox_by_state(session, ALERT_STATES)
    for state in OUTBOX_STATES:
        OUTBOX_BACKLOG.labels(state=state).set(int(rows.get(state, 0)))
    for state in ALERT_STATES:
        ALERT_OUTBOX.labels(state=state).set(int(alerts.get(state, 0)))


async def _breakers(redis: Any, prefix: str = "qbo") -> None:
    seen = 0
    async for key in redis.scan_iter(match=f"{prefix}:breaker:*", count=500):
        k = key.decode() if isinstance(key, bytes) else str(key)
        if k.endswith(":trial"):
            continue
        state = await redis.hget(k, "state")
        state = state.decode() if isinstance(state, bytes) else (state or "closed")
        BREAKER_STATE.labels(company_id=k.rsplit(":", 1)[-1]).set(BREAKER_GAUGE.get(state, 0.0))
        seen += 1
        if seen >= MAX_BREAKER_KEYS:
            break


async def refresh(sessionmaker: async_sessionmaker[AsyncSession] | None, queue: Any = None, redis: Any = None,
                  *, force: bool = False) -> None:
    global _last_refresh
    now = time.monotonic()
    if not force and now - _last_refresh < CACHE_SECONDS:
        return
    _last_refresh = now
    parts: list[tuple[str, Any]] = []
    if sessionmaker is not None:
        parts.append(("database", _db(sessionmaker)))
    if queue is not None:
        parts.append(("queue", _queue(queue)))
    if redis is not None:
        parts.append(("breakers", _breakers(redis)))
        parts.append(("reads", _reads(redis)))
    for name, coro in parts:
        try:
            await coro
        except Exception:  # noqa: BLE001 - a scrape must answer even when a part is down
            SCRAPE_REFRESH_ERRORS.labels(part=name).inc()
            logger.warning("metrics refresh failed", extra={"fields": {"part": name}})


async def _reads(redis: Any) -> None:
    """The app's reads this month (every process's, from Redis) against its budget."""
    month = await read_budget.status(redis)
    APP_READ_BUDGET.set(month["budget"])
    for purpose, n in month["byPurpose"].items():
        APP_READS_MONTH.labels(purpose=purpose).set(n)
    for purpose, n in month["deferred"].items():
        APP_READS_DEFERRED.labels(purpose=purpose).set(n)


async def _queue(queue: Any) -> None:
    QUEUE_DEPTH.set(await queue.depth())
