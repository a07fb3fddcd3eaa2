"""What we know QBO holds for our timecards, looked up by QBO id (for drift checks from outside sync)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
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


async def adopt_qbo_version(session: AsyncSession, company_id: uuid.UUID, timecard_id: uuid.UUID,
                            expected_token: str | None, qbo_token: str) -> bool:
    """The admin keeps QBO's edited version: our next write starts from its SyncToken, and a webhook
    echo of it is no longer drift. False when the row moved on since the finding (nothing changed)."""
    result = await session.execute(
        update(TimecardSyncRecord)
        .where(TimecardSyncRecord.company_id == company_id, TimecardSyncRecord.timecard_id == timecard_id,
               TimecardSyncRecord.qbo_sync_token == expected_token,
               TimecardSyncRecord.state.in_(SETTLED_STATES))
        .values(qbo_sync_token=qbo_token).execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]
