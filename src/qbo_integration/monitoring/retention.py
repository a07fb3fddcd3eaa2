"""Retention: audit rows older than AUDIT_RETENTION_DAYS (90) go, in small batches (db/retention.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.clock import utc_now
from qbo_integration.db.retention import BATCH, delete_older
from qbo_integration.monitoring.models import AuditLogEntry


async def purge_audit_log(sessionmaker: async_sessionmaker[AsyncSession], *, days: int = 90,
                          now: datetime | None = None, batch: int = BATCH, max_batches: int = 10_000) -> int:
    """Delete audit rows created before now - days. Returns how many were deleted."""
    cutoff = (now or utc_now()) - timedelta(days=days)
    return await delete_older(sessionmaker, AuditLogEntry, AuditLogEntry.created_at, cutoff, batch=batch,
                              max_batches=max_batches)
