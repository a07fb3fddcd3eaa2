"""What an admin sees of drift and does about it: list the open findings; push CrewFlow's version again
(through the outbox, so the write is decided like every other one: an update over QBO's current
SyncToken, which QBO answers "not found" when the record was deleted, and only then a create); keep
QBO's version; or dismiss.

Who wins: CrewFlow is the system of record for approved time. A CrewFlow write that lands after a
bookkeeper's change inside QBO supersedes it: the open finding closes as `superseded` (audited), and a
version overwritten before any finding was opened is recorded as a superseded finding, so the admin
sees in the drift history what was replaced."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.clock import utc_now
from qbo_integration.connections.service import get_integration
from qbo_integration.errors import Conflict, NotFound
from qbo_integration.monitoring import audit
from qbo_integration.queue import JobQueue
from qbo_integration.reconciliation.models import DriftFinding
from qbo_integration.sync import known
from qbo_integration.sync import service as sync_service
from qbo_integration.sync.story import events as story
from qbo_integration.sync.written import Written

Action = Literal["push", "accept", "dismiss"]


SUPERSEDED_MESSAGE = ("Superseded by CrewFlow's edit: CrewFlow sent this timecard to QuickBooks again after the "
                      "change made there (CrewFlow is the system of record for approved time)")


async def open_findings(session: AsyncSession, company_id: uuid.UUID, limit: int = 200) -> list[DriftFinding]:
    stmt = (select(DriftFinding).where(DriftFinding.company_id == company_id, DriftFinding.status == "open")
            .order_by(DriftFinding.detected_at.desc()).limit(limit))
    return list((await session.execute(stmt)).scalars())


async def resolved_findings(session: AsyncSession, company_id: uuid.UUID, limit: int = 200) -> list[DriftFinding]:
    """The drift history: findings already resolved, newest first."""
    stmt = (select(DriftFinding).where(DriftFinding.company_id == company_id, DriftFinding.status != "open")
            .order_by(DriftFinding.resolved_at.desc().nulls_last(), DriftFinding.detected_at.desc()).limit(limit))
    return list((await session.execute(stmt)).scalars())


async def supersede(session: AsyncSession, company_id: uuid.UUID, written: Sequence[Written]) -> None:
    """CrewFlow's writes landed for these timecards: their open findings are moot (closed as superseded),
    and a bookkeeper's version a write overwrote with no finding open yet is recorded as one. Runs in the
    sync write-back's transaction (sync.written), so it never disagrees with the outbox."""
    now = utc_now()
    tids = sorted({w.timecard_id for w in written})
    closed = (await session.execute(
        update(DriftFinding)
        .where(DriftFinding.company_id == company_id, DriftFinding.timecard_id.in_(tids),
               DriftFinding.status == "open")
        .values(status="superseded", resolved_at=now, resolved_by="system:sync")
        .returning(DriftFinding.timecard_id, DriftFinding.qbo_id, DriftFinding.kind)
        .execution_options(synchronize_session=False))).all()
    audits = [(tid, qbo_id, kind) for tid, qbo_id, kind in closed]
    overridden = [w for w in written if w.overridden is not None and w.timecard_id not in {t for t, _, _ in closed}]
    known_versions: set[tuple[uuid.UUID, str, str | None]] = set()
    if overridden:  # a version already reported (a finding the admin pushed, say) is not recorded twice
        known_versions = {(r.timecard_id, r.qbo_id, r.qbo_sync_token) for r in (await session.execute(
            select(DriftFinding.timecard_id, DriftFinding.qbo_id, DriftFinding.qbo_sync_token)
            .where(DriftFinding.company_id == company_id,
                   DriftFinding.timecard_id.in_([w.timecard_id for w in overridden])))).all()}
    for w in overridden:
        o = w.overridden
        assert o is not None
        token = str(o.view.get("SyncToken")) if o.view is not None else None
        if (w.timecard_id, o.qbo_id, token) in known_versions:
            continue
        kind = "deleted" if o.view is None else "changed"
        session.add(DriftFinding(
            id=uuid.uuid4(), company_id=company_id, timecard_id=w.timecard_id, qbo_id=o.qbo_id, kind=kind,
            source="sync", status="superseded", our_sync_token=o.our_sync_token, qbo_sync_token=token,
            qbo_view=o.view, resolved_at=now, resolved_by="system:sync"))
        audits.append((w.timecard_id, o.qbo_id, kind))
    if not audits:
        return
    integ = await get_integration(session, company_id)
    if integ is None:
        return
    await audit.record_many(session, [dict(
        integration_id=integ.id, company_id=company_id, action="drift_superseded", status="success",
        timecard_id=tid, qbo_id=qbo_id, actor="system:sync", error_message=None,
        response_payload={"kind": kind, "message": SUPERSEDED_MESSAGE}) for tid, qbo_id, kind in audits])


async def _open_finding(session: AsyncSession, company_id: uuid.UUID, finding_id: uuid.UUID) -> DriftFinding:
    row = await session.get(DriftFinding, finding_id, with_for_update=True)
    if row is None or row.company_id != company_id:
        raise NotFound("Drift finding not found")
    if row.status == "superseded":
        raise Conflict(f"This finding was already resolved (superseded): {SUPERSEDED_MESSAGE}", code="drift_superseded")
    if row.status != "open":
        raise Conflict(f"This finding was already resolved ({row.status})")
    return row


async def resolve(session: AsyncSession, queue: JobQueue, company_id: uuid.UUID, finding_id: uuid.UUID,
                  action: Action, *, actor: str) -> DriftFinding:
    row = await _open_finding(session, company_id, finding_id)
    if action == "push":
        if not await known.disown_qbo_content(session, company_id, row.timecard_id, expected_qbo_id=row.qbo_id,
                                              expected_token=row.our_sync_token, qbo_token=row.qbo_sync_token):
            raise Conflict("CrewFlow has written this timecard to QuickBooks since this finding, or a write of it "
                           "is still being confirmed: nothing was sent. The finding closes by itself once that "
                           "write is confirmed", code="drift_superseded")
        await sync_service.request_sync(session, queue, company_id, [row.timecard_id], trigger="drift_push")
    elif action == "accept":
        if row.kind == "deleted" or row.qbo_sync_token is None:
            raise Conflict("A time entry deleted in QuickBooks cannot be kept as it is: dismiss the finding, "
                           "or send CrewFlow's version again")
        if not await known.adopt_qbo_version(session, company_id, row.timecard_id, row.our_sync_token,
                                             row.qbo_sync_token):
            raise Conflict("The timecard was synced again since this finding; look at the newest finding instead")
    row.status = {"push": "pushed", "accept": "accepted", "dismiss": "dismissed"}[action]
    row.resolved_at, row.resolved_by = utc_now(), actor
    await story.record(session, story.admin(company_id, [row.timecard_id], f"drift_{action}", row.resolved_at,
                                            finding=str(row.id), kind=row.kind, qboId=row.qbo_id, actor=actor))
    integ = await get_integration(session, company_id)
    if integ is not None:
        await audit.record(session, integration_id=integ.id, company_id=company_id, action=f"drift_{row.status}",
                           status="success", timecard_id=row.timecard_id, qbo_id=row.qbo_id, actor=actor,
                           response_payload={"kind": row.kind, "qboSyncToken": row.qbo_sync_token})
    return row


async def archive_open(session: AsyncSession, company_id: uuid.UUID, *, actor: str) -> int:
    """The company switched to another QuickBooks company: its open findings, and the versions the admin kept,
    name the old realm's records (whose ids the new realm may reuse)."""
    result = await session.execute(
        update(DriftFinding).where(DriftFinding.company_id == company_id,
                                   DriftFinding.status.in_(("open", "accepted")))
        .values(status="archived", resolved_at=utc_now(), resolved_by=actor[:200])
        .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]
