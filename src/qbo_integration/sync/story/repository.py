"""Every SQL statement on timecard_sync_events: the bulk insert the sync core writes with, the pages the
routes read, and the retention prune."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.db.bulk import insert_from_values
from qbo_integration.db.retention import delete_older
from qbo_integration.sync.story.models import TimecardSyncEvent as Event

COLUMNS = ("company_id", "timecard_id", "realm_id", "at", "kind", "code", "facts", "request_id", "job_id")


async def insert_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """All of one transaction's story rows in one statement (one array parameter a column)."""
    if rows:
        await session.execute(insert_from_values(Event, [{c: r.get(c) for c in COLUMNS} for r in rows]))


async def page(session: AsyncSession, company_id: uuid.UUID, timecard_id: uuid.UUID, *, before: int | None,
               limit: int, kind: str | None = None) -> list[Event]:
    """The timecard's story (or its rows of one kind), newest first, `limit` rows older than the cursor
    `before` (an id)."""
    stmt = (select(Event).where(Event.timecard_id == timecard_id, Event.company_id == company_id)
            .order_by(Event.id.desc()).limit(limit))
    if before is not None:
        stmt = stmt.where(Event.id < before)
    if kind is not None:
        stmt = stmt.where(Event.kind == kind)
    return list((await session.execute(stmt)).scalars())


async def prune(sessionmaker: async_sessionmaker[AsyncSession], cutoff: datetime) -> int:
    """Delete rows older than `cutoff`, a batch per short transaction (the `at` index). Returns how many."""
    return await delete_older(sessionmaker, Event, Event.at, cutoff)
