"""Transaction-scoped advisory locks: one writer at a time for a name, held until commit or rollback."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def hold_until_commit(session: AsyncSession, name: str) -> None:
    """Wait until no other transaction holds the lock `name`, then hold it until this one ends. Take it
    before reading what the transaction decides on: the reads that follow see the previous holder's commit."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(name, 0))))
