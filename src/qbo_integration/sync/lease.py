"""The leases of the rows one sync job holds: until when it may send writes for them.

A claim gives its rows a lease of `policy.LEASE` (outbox_repository.claim_due), held on the claim's own row
(sync_claims); while the job is alive a background task renews every claim it holds each `policy.LEASE_RENEW`,
one UPDATE of one row per claim in its own short transaction (never one open across a QBO call). The sender asks `send_by(token)` just before each attempt of a write
(qbo.writes_sent_by) and sends nothing once it has passed. A job that stalls (or dies) stops renewing, its
rows are claimed again as soon as the lease has lapsed, and it can no longer send for them: the last
moment a request of the row can have gone out is the lease's end, which bounds the settle deadline
(outcome.unknown_for_sure_at; the argument is in docs/internal-contracts.md, "Recovery").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.sync import claims_repository, policy

logger = logging.getLogger(__name__)


@dataclass
class _Held:
    until: datetime  # what the database holds (or less): never later


class Leases:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]) -> None:
        self.sm = sessionmaker
        self.clock = clock
        self._held: dict[uuid.UUID, _Held] = {}
        self._task: asyncio.Task[None] | None = None

    def hold(self, token: uuid.UUID | None, until: datetime) -> None:
        """A claim under `token`, leased until `until` (the claim's own value)."""
        if token is not None:
            self._held[token] = _Held(until)

    def drop(self, token: uuid.UUID | None) -> None:
        """The rows are released (written back or given back): nothing more is sent for them."""
        self._held.pop(token, None)  # type: ignore[arg-type]

    def until(self, token: uuid.UUID | None) -> datetime | None:
        held = self._held.get(token) if token is not None else None
        return held.until if held is not None else None

    def send_by(self, token: uuid.UUID | None) -> Callable[[], float]:
        """For qbo.writes_sent_by: the lease's end now (epoch seconds), read before each attempt."""
        def deadline() -> float:
            until = self.until(token)
            return until.timestamp() if until is not None else float("-inf")
        return deadline

    async def renew(self) -> None:
        """One UPDATE for every claim held; a claim revoked (its lease had lapsed, its rows may be taken over)
        keeps its old lease, which has passed, so nothing more is sent for it."""
        if not self._held:
            return
        until = self.clock() + policy.LEASE
        async with self.sm() as s:
            renewed = await claims_repository.renew(s, list(self._held), until)
            await s.commit()
        for token, h in list(self._held.items()):
            if token in renewed:
                h.until = until

    async def _renewing(self) -> None:
        while True:
            await asyncio.sleep(policy.LEASE_RENEW.total_seconds())
            try:
                await self.renew()
            except Exception:  # noqa: BLE001 - the database is away: the leases lapse, sends stop
                logger.warning("could not renew the sync leases", exc_info=True)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._renewing(), name="sync-leases")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
