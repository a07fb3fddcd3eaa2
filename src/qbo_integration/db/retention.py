"""Deleting a table's rows older than a cutoff in small batches, each its own short transaction (on the
time column's index), so a big backlog never holds long locks or bloats one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

BATCH = 5000


async def delete_older(sessionmaker: async_sessionmaker[AsyncSession], model: Any, at: Any, cutoff: datetime, *,
                       batch: int = BATCH, max_batches: int = 10_000) -> int:
    """Delete `model` rows whose `at` column is before `cutoff`. Returns how many were deleted."""
    total = 0
    for _ in range(max_batches):
        async with sessionmaker() as session:
            ids = select(model.id).where(at < cutoff).limit(batch).scalar_subquery()
            result = await session.execute(delete(model).where(model.id.in_(ids))
                                           .execution_options(synchronize_session=False))
            await session.commit()
        n = result.rowcount or 0  # type: ignore[attr-defined]
        total += n
        if n < batch:
            break
    return total
