"""Drift: a TimeActivity we created that someone changed or deleted inside QBO.

Our own writes come back by webhook too; they are recognised by SyncToken (the write-back stores the
token QBO answered, so a record at that token is ours). While a write of ours is outstanding the check
waits: the echo of that write is on its way.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.connections.service import get_integration
from qbo_integration.db.locks import hold_until_commit
from qbo_integration.monitoring import audit
from qbo_integration.qbo.client import CompanyClient
from qbo_integration.qbo.errors import NotFoundError
from qbo_integration.reconciliation.models import DriftFinding
from qbo_integration.sync import known
from qbo_integration.untrusted import storable_json, storable_text

ACTION = "qbo_drift_detected"
TOKEN_MAX = 32  # drift_findings.qbo_sync_token


class Outcome(StrEnum):
    NOT_OURS = "not_ours"
    ECHO = "echo"  # our own write
    BUSY = "busy"  # a write of ours is outstanding: look again later
    ACCEPTED = "accepted"  # the admin already kept this QBO version
    CHANGED = "changed"
    DELETED = "deleted"


async def check(sessionmaker: async_sessionmaker[AsyncSession], client: CompanyClient, company_id: uuid.UUID,
                qbo_id: str, *, source: str) -> Outcome:
    async with sessionmaker() as s:
        before = await known.by_qbo_id(s, company_id, qbo_id)
    if before is None:
        return Outcome.NOT_OURS
    if not before.settled:
        return Outcome.BUSY
    try:
        view: dict[str, Any] | None = (await client.get_time_activity(qbo_id)).to_qbo()
    except NotFoundError:
        view = None
    token = str(view.get("SyncToken")) if view is not None else None
    if view is not None and token == before.sync_token:
        return Outcome.ECHO
    async with sessionmaker() as s:
        now_known = await known.by_qbo_id(s, company_id, qbo_id)
        if now_known != before:
            return Outcome.BUSY  # we wrote while QBO was being read: decide on the next look
        outcome = await record(s, company_id, before, view, source=source)
        await s.commit()
    return outcome


async def record(session: AsyncSession, company_id: uuid.UUID, ours: known.KnownRecord, view: dict[str, Any] | None,
                 *, source: str) -> Outcome:
    """Open (or refresh) the one open finding of this timecard, audited; an accepted version stays quiet.
    QBO's record is stored as data it could hold anything in (a NUL typed into a description)."""
    token = storable_text(str(view.get("SyncToken")), TOKEN_MAX) if view is not None else None
    kind = Outcome.DELETED if view is None else Outcome.CHANGED
    # Two checks of one timecard (a webhook job and a reconciliation run) decide one after the other: the
    # second sees the first's finding instead of inserting a second open one (uq_drift_findings_open).
    await hold_until_commit(session, f"drift:{ours.timecard_id}")
    rows = (await session.execute(select(DriftFinding).where(DriftFinding.timecard_id == ours.timecard_id)
                                  .order_by(DriftFinding.detected_at.desc()))).scalars().all()
    # The admin kept this very version: the same record at the same SyncToken (a re-created record starts
    # again at "0", so the token alone would hide an edit of the new record).
    if view is not None and any(f.status == "accepted" and f.qbo_id == ours.qbo_id and f.qbo_sync_token == token
                                for f in rows):
        return Outcome.ACCEPTED
    current = next((f for f in rows if f.status == "open"), None)
    if current is not None and current.kind == kind.value and current.qbo_sync_token == token:
        return kind  # already known
    if current is None:
        current = DriftFinding(id=uuid.uuid4(), company_id=company_id, timecard_id=ours.timecard_id,
                               qbo_id=ours.qbo_id, source=source)
        session.add(current)
    current.kind, current.our_sync_token, current.qbo_sync_token, current.qbo_view = (
        kind.value, ours.sync_token, token, storable_json(view))
    integ = await get_integration(session, company_id)
    if integ is not None:
        what = "deleted in QuickBooks" if view is None else "changed in QuickBooks by someone else"
        await audit.record(session, integration_id=integ.id, company_id=company_id, action=ACTION, status="failure",
                           timecard_id=ours.timecard_id, qbo_id=ours.qbo_id, actor=f"system:{source}",
                           error_message=f"The synced time entry was {what}",
                           response_payload={"kind": kind.value, "qboSyncToken": token,
                                             "ourSyncToken": ours.sync_token})
    return kind
