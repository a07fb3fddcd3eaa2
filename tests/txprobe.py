"""What another connection sees while a network call is in flight: open transactions and row locks."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def idle_in_transaction(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Backends of this test database (other than the probe's own) waiting inside an open transaction."""
    async with sessionmaker() as s:
        return (await s.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle in transaction' AND pid <> pg_backend_pid()"))).scalar_one()


async def row_lock(sessionmaker: async_sessionmaker[AsyncSession], table: str, where: str, **params: object) -> str:
    """'free' when `SELECT … FOR UPDATE NOWAIT` gets the row (then released), 'locked' when another holds it."""
    async with sessionmaker() as s:
        try:
            await s.execute(text(f"SELECT 1 FROM {table} WHERE {where} FOR UPDATE NOWAIT"), params)
        except Exception as exc:  # noqa: BLE001 - asyncpg's LockNotAvailableError, wrapped by SQLAlchemy
            if "LockNotAvailable" in type(getattr(exc, "orig", exc)).__name__ or "could not obtain lock" in str(exc):
                return "locked"
            raise
        finally:
            await s.rollback()
    return "free"
