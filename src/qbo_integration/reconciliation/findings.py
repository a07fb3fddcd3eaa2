"""What an admin sees of drift and does about it: list the open findings; push CrewFlow's version again
(through the outbox, so the write is decided like every other one: an update over QBO's current
SyncToken, or a create when QBO deleted it); keep QBO's version; or dismiss."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.connections.service import get_integration
from qbo_integration.errors import Conflict, NotFound
from qbo_integration.monitoring import audit
from qbo_integration.queue import JobQueue
from qbo_integration.reconciliation.models import DriftFinding
from qbo_integration.sync import known
from qbo_integration.sync import service as sync_service

Action = Literal["push", "accept", "dismiss"]


async def open_findings(session: AsyncSession, company_id: uuid.UUID, limit: int = 200) -> list[DriftFinding]:
    stmt = (select(DriftFinding).where(DriftFinding.company_id == company_id, DriftFinding.status == "open")
            .order_by(DriftFinding.detected_at.desc()).limit(limit))
    return list((await session.execute(stmt)).scalars())


async def _open_finding(session: AsyncSession, company_id: uuid.UUID, finding_id: uuid.UUID) -> DriftFinding:
    row = await session.get(DriftFinding, finding_id, with_for_update=True)
    if row is None or row.company_id != company_id:
        raise NotFound("Drift finding not found")
    if row.status != "open":
        raise Conflict(f"This finding was already resolved ({row.status})")
    return row


async def resolve(session: AsyncSession, queue: JobQueue, company_id: uuid.UUID, finding_id: uuid.UUID,
                  action: Action, *, actor: str) -> DriftFinding:
    row = await _open_finding(session, company_id, finding_id)
    if action == "push":
        if not await known.disown_qbo_content(session, company_id, row.timecard_id, expected_token=row.our_sync_token,
                                              qbo_token=row.qbo_sync_token, deleted=row.kind == "deleted"):
            raise Conflict("The timecard was synced again since this finding; look at the newest finding instead")
        await sync_service.request_sync(session, queue, company_id, [row.timecard_id], trigger="drift_push")
    elif action == "accept":
        if row.kind == "deleted" or row.qbo_sync_token is None:
            raise Conflict("A time entry deleted in QuickBooks cannot be kept as it is: dismiss the finding, "
                           "or send CrewFlow's version again")
        if not await known.adopt_qbo_version(session, company_id, row.timecard_id, row.our_sync_token,
                                             row.qbo_sync_token):
            raise Conflict("The timecard was synced again since this finding; look at the newest finding instead")
    row.status = {"push": "pushed", "accept": "accepted", "dismiss": "dismissed"}[action]
    row.resolved_at, row.resolved_by = datetime.now(UTC), actor
    integ = await get_integration(session, company_id)
    if integ is not None:
        await audit.record(session, integration_id=integ.id, company_id=company_id, action=f"drift_{row.status}",
                           status="success", timecard_id=row.timecard_id, qbo_id=row.qbo_id, actor=actor,
                           response_payload={"kind": row.kind, "qboSyncToken": row.qbo_sync_token})
    return row
