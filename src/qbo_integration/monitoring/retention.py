"""Retention: audit rows older than AUDIT_RETENTION_DAYS (90) go, in small batches.

Each batch is its own short transaction (uses the created_at index), so a big backlog never
holds long locks or bloats one transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.monitoring.models import AuditLogEntry

BATCH = 5000


async def purge_audit_log(sessionmaker: async_sessionmaker[AsyncSession], *, days: int = 90,
                          now: datetime | None = None, batch: int = BATCH, max_batches: int = 10_000) -> int:
    """Delete audit rows created before now - days. Returns how many were deleted."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    total = 0
    for _ in range(max_batches):
        async with sessionmaker() as session:
            ids = select(AuditLogEntry.id).where(AuditLogEntry.created_at < cutoff).limit(batch).scalar_subquery()
            result = await session.execute(
                delete(AuditLogEntry).where(AuditLogEntry.id.in_(ids)).execution_options(synchronize_session=False)
            )
            await session.commit()
        n = result.rowcount or 0  # type: ignore[attr-defined]
        total += n
        if n < batch:
            break
    return total
