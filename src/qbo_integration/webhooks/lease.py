"""While a webhook job is alive it keeps its company's turn and the events it claimed: a background task
renews both each `service.LEASE_RENEW` (the turn in Redis, the claims in one UPDATE of their own short
transaction). A job that dies stops renewing, and both lapse `service.LEASE` later: its events are
claimable again and the next job (the minute's cron queues one) takes them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.clock import utc_now
from qbo_integration.webhooks import service

logger = logging.getLogger(__name__)


class Turn:
    """The company's turn held by one job, and the events it claimed under it."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, company_id: uuid.UUID,
                 token: str, clock: Callable[[], datetime] = utc_now) -> None:
        self.sm, self.redis, self.company_id, self.token, self.clock = sessionmaker, redis, company_id, token, clock
        self.claimed: list[uuid.UUID] = []

    async def renew(self) -> None:
        """Another LEASE for the turn and the claims; none once the turn lapsed (another job may hold them)."""
        if not await service.renew_turn(self.redis, self.company_id, self.token):
            self.claimed = []
            return
        if self.claimed:
            async with self.sm() as s:
                await service.renew_claims(s, self.claimed, self.clock())
                await s.commit()

    async def _renewing(self) -> None:
        while True:
            await asyncio.sleep(service.LEASE_RENEW.total_seconds())
            try:
                await self.renew()
            except Exception:  # noqa: BLE001 - Redis or the database is away: the lease lapses, others take over
                logger.warning("could not renew the webhook job's lease", exc_info=True)


@contextlib.asynccontextmanager
async def renewing(turn: Turn) -> AsyncIterator[Turn]:
    task = asyncio.create_task(turn._renewing(), name="webhook-lease")
    try:
        yield turn
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
