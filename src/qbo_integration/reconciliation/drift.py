"""Drift: a TimeActivity we created that someone changed or deleted inside QBO.

Our own writes come back by webhook too. Their echoes are recognised without a read: the event's time is
no later than the LastUpdatedTime QBO answered our write with (versions.py). Any other event is read,
many records a query, and a record at the SyncToken our write-back stored is still ours. While a write
of ours is outstanding the check waits: the echo of that write is on its way.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.connections.service import get_integration
from qbo_integration.monitoring import audit, read_budget
from qbo_integration.qbo import purpose as purposes
from qbo_integration.qbo.client import CompanyClient
from qbo_integration.qbo.purpose import reading_for
from qbo_integration.reconciliation import versions
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
    DEFERRED = "deferred"  # the app's read budget is nearly used up: the nightly reconciliation looks later


ID_CHUNK = 100  # ids per `Id IN (...)` query


async def check(sessionmaker: async_sessionmaker[AsyncSession], client: CompanyClient, company_id: uuid.UUID,
                qbo_id: str, *, source: str, seen: Sequence[versions.Seen] = ()) -> Outcome:
    return (await check_many(sessionmaker, client, company_id, {qbo_id: seen}, source=source))[qbo_id]


async def check_many(sessionmaker: async_sessionmaker[AsyncSession], client: CompanyClient, company_id: uuid.UUID,
                     events: Mapping[str, Sequence[versions.Seen]], *, source: str) -> dict[str, Outcome]:
    """Decide for each record named (QBO id -> what its events said). The echo of our own write is told from
    the events' times and operations (versions.is_echo): no read. The rest are read together, 100 ids a
    query."""
    ids = sorted(events)
    async with sessionmaker() as s:
        before = {i: await known.by_qbo_id(s, company_id, i) for i in ids}
        kept = await versions.ours(s, company_id, [i for i, k in before.items() if k is not None])
    out: dict[str, Outcome] = {}
    to_read: list[str] = []
    for i in ids:
        k = before[i]
        if k is None:
            out[i] = Outcome.NOT_OURS
        elif not k.settled:
            out[i] = Outcome.BUSY
        elif versions.is_echo(events[i], k.sync_token, kept.get(i)):
            out[i] = Outcome.ECHO
        else:
            to_read.append(i)
    if not to_read:
        return out
    if not await read_budget.may_read(client.api.redis, company_id, purposes.DRIFT_CHECK):
        return {**out, **{i: Outcome.DEFERRED for i in to_read}}
    with reading_for(purposes.DRIFT_CHECK):
        views = await read_many(client, to_read)
    for i in to_read:
        ours = before[i]
        assert ours is not None
        out[i] = await _decide(sessionmaker, company_id, ours, views.get(i), source=source)
    return out


async def read_many(client: CompanyClient, qbo_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The TimeActivities QBO holds of these ids (ids QBO issued: our outbox's), by id; a deleted one is absent."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(qbo_ids), ID_CHUNK):
        listed = ",".join("'" + i.replace("'", "\\'") + "'" for i in qbo_ids[start:start + ID_CHUNK])
        for ta in await client.query_all(f"SELECT * FROM TimeActivity WHERE Id IN ({listed})"):
            data = ta.to_qbo()
            found[str(data.get("Id"))] = data
    return found


async def _decide(sessionmaker: async_sessionmaker[AsyncSession], company_id: uuid.UUID, before: known.KnownRecord,
                  view: dict[str, Any] | None, *, source: str) -> Outcome:
    token = str(view.get("SyncToken")) if view is not None else None
    if view is not None and token == before.sync_token:
        return Outcome.ECHO
    async with sessionmaker() as s:
        outcome = await record(s, company_id, before, view, source=source)
        await s.commit()
    return outcome


async def record(session: AsyncSession, company_id: uuid.UUID, ours: known.KnownRecord, view: dict[str, Any] | None,
                 *, source: str) -> Outcome:
    """Open (or refresh) the one open finding of this timecard, audited; an accepted version stays quiet.
    BUSY when the timecard's row moved since `ours` was read (we wrote, or the admin kept a version): the
    next look decides. QBO's record is stored as data it could hold anything in (a NUL typed into a
    description)."""
    token = storable_text(str(view.get("SyncToken")), TOKEN_MAX) if view is not None else None
    kind = Outcome.DELETED if view is None else Outcome.CHANGED
    # The outbox row first, as the write-back and an admin's decision lock it: two checks of one timecard
    # then decide one after the other (uq_drift_findings_open), and never beside a decision.
    await known.lock_row(session, company_id, ours.timecard_id)
    if await known.by_qbo_id(session, company_id, ours.qbo_id) != ours:
        return Outcome.BUSY
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
