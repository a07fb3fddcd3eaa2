"""What we know QBO holds for our timecards, looked up by QBO id (for drift checks from outside sync)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.sync.models import TimecardSyncRecord

# States in which no write of ours is outstanding: what QBO holds is what we last wrote (or someone else's).
SETTLED_STATES = ("synced", "failed", "dead")


@dataclass(frozen=True)
class KnownRecord:
    timecard_id: uuid.UUID
    qbo_id: str
    sync_token: str | None
    settled: bool


async def by_qbo_id(session: AsyncSession, company_id: uuid.UUID, qbo_id: str) -> KnownRecord | None:
    row = (await session.execute(
        select(TimecardSyncRecord.timecard_id, TimecardSyncRecord.qbo_sync_token, TimecardSyncRecord.state)
        .where(TimecardSyncRecord.company_id == company_id, TimecardSyncRecord.qbo_id == qbo_id).limit(1))).first()
    if row is None:
        return None
    return KnownRecord(row.timecard_id, qbo_id, row.qbo_sync_token, row.state in SETTLED_STATES)
