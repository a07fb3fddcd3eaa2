"""What we know QBO holds for our timecards, looked up by QBO id (for drift checks from outside sync)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.clock import utc_now
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.sync import outbox_repository
from qbo_integration.sync.states import State

# States in which no job holds the row. A row is settled (what QBO holds is what we last wrote, or someone
# else's) only in one of them AND with no ledger entry: a failed row retrying a write whose answer was lost
# may have changed QBO already, and the echo of that write is not drift.
SETTLED_STATES = (State.SYNCED, State.FAILED, State.DEAD)


def is_settled(state: str, pending_op: str | None) -> bool:
    return state in SETTLED_STATES and not pending_op


@dataclass(frozen=True)
class KnownRecord:
    timecard_id: uuid.UUID
    qbo_id: str
    sync_token: str | None
    settled: bool


async def by_qbo_id(session: AsyncSession, company_id: uuid.UUID, qbo_id: str) -> KnownRecord | None:
    row = await outbox_repository.row_naming(session, company_id, qbo_id)
    if row is None:
        return None
    return KnownRecord(row.timecard_id, qbo_id, row.qbo_sync_token, is_settled(row.state, row.pending_op))


async def lock_row(session: AsyncSession, company_id: uuid.UUID, timecard_id: uuid.UUID) -> None:
    """Hold the timecard's outbox row until commit (the sync write-back's first lock: take it first too)."""
    await lock_rows(session, company_id, [timecard_id])


async def lock_rows(session: AsyncSession, company_id: uuid.UUID, timecard_ids: list[uuid.UUID]) -> None:
    """Hold these outbox rows until commit, in the one order every locker takes them (timecard id)."""
    if timecard_ids:
        await outbox_repository.lock_rows(session, company_id, timecard_ids=timecard_ids)


async def adopt_qbo_version(session: AsyncSession, company_id: uuid.UUID, timecard_id: uuid.UUID,
                            expected_token: str | None, qbo_token: str) -> bool:
    """The admin keeps QBO's edited version: our next write starts from its SyncToken, and a webhook
    echo of it is no longer drift. False when the row moved on since the finding (nothing changed)."""
    rows = await outbox_repository.lock_rows(session, company_id, timecard_ids=[timecard_id])
    if not rows or not is_settled(rows[0].state, rows[0].pending_op) or rows[0].qbo_sync_token != expected_token:
        return False
    rows[0].qbo_sync_token = qbo_token
    return True


@dataclass(frozen=True)
class OwnedRecord:
    """A TimeActivity one of our outbox rows says QBO holds."""

    timecard_id: uuid.UUID
    qbo_id: str
    sync_token: str | None
    settled: bool
    wanted: bool  # the timecard is approved: QBO should hold it
    synced_at: datetime | None


async def owned_records(session: AsyncSession, company_id: uuid.UUID) -> list[OwnedRecord]:
    """Our rows that name a QBO record; `wanted` comes from Core as it is now (approved or not)."""
    approved = {tid for tid, _, _ in await CoreGateway(session).approved_timecard_versions(company_id)}
    rows = await outbox_repository.rows_naming_records(session, company_id)
    return [OwnedRecord(r.timecard_id, r.qbo_id, r.qbo_sync_token, is_settled(r.state, r.pending_op),
                        r.timecard_id in approved, r.synced_at) for r in rows]


async def refresh_from_core(session: AsyncSession, company_id: uuid.UUID, timecard_ids: list[uuid.UUID]) -> int:
    """Re-derive these rows from Core's timecards as they are now and make them due with fresh attempts:
    the engine then decides again what QBO needs (a reconciliation finding handed back)."""
    if not timecard_ids:
        return 0
    from qbo_integration.connections.service import get_integration
    from qbo_integration.sync import sweep

    integration = await get_integration(session, company_id)
    if integration is None:
        return 0
    await sweep.rederive_company(session, integration, utc_now(), timecard_ids)
    now = utc_now()
    rows = await outbox_repository.lock_rows(session, company_id, timecard_ids=timecard_ids, states=SETTLED_STATES)
    for row in rows:
        row.state, row.attempts, row.next_attempt_at = State.PENDING, 0, now
    return len(rows)


async def disown_qbo_content(session: AsyncSession, company_id: uuid.UUID, timecard_id: uuid.UUID, *,
                             expected_qbo_id: str, expected_token: str | None, qbo_token: str | None) -> bool:
    """The admin wants CrewFlow's version in QBO again: forget what we thought the record holds, so the next
    decision sends an update over QBO's current SyncToken. A record QBO deleted is re-created only by way
    of that update (QBO answers it "not found"): nothing is created while QBO holds a record of the timecard.
    False when the row moved on since the finding (another record, another SyncToken: CrewFlow wrote since),
    or a write of ours is outstanding."""
    rows = await outbox_repository.lock_rows(session, company_id, timecard_ids=[timecard_id])
    row = rows[0] if rows else None
    if row is None or not is_settled(row.state, row.pending_op) or row.qbo_id != expected_qbo_id \
            or row.qbo_sync_token != expected_token:
        return False
    if qbo_token is not None:
        row.qbo_sync_token = qbo_token
    row.fingerprint = None
    row.synced_version = None
    return True
