"""The company's directory lock: an import's writes and the admin's decisions on what it proposed never
interleave (a transaction-scoped PostgreSQL advisory lock, released at commit or rollback)."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def lock(session: AsyncSession, company_id: uuid.UUID) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                          {"k": f"directory_import:{company_id}"})
