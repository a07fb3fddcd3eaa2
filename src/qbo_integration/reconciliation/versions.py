"""The versions our own writes left in QBO, so a webhook echo of them is recognised without a read.

QBO answers every create and update with the record: Id, SyncToken and MetaData.LastUpdatedTime. The
sync write-back hands them over (sync.written.Held, through `findings.supersede`) in its transaction.
A TimeActivity event names the record, the operation and the record's LastUpdatedTime (legacy
`lastUpdated`, CloudEvents `time`). While we hold the record at the SyncToken our write left, an event is
our write's echo when it is dated before our write's LastUpdatedTime (an older change, which our write
replaced), or in the same second with our write's operation (a create leaves SyncToken "0", an update a
higher one; the record's Create event is always ours). Both times are QBO's own (seconds), so no clock of ours takes part. Anything later, or a
different operation in that second (a bookkeeper's edit right after our create), is read. The one case
this cannot tell is someone else's update in the very second of our update: the nightly reconciliation
(SyncTokens compared) finds it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.db.bulk import insert_from_values
from qbo_integration.reconciliation.models import WrittenVersion
from qbo_integration.sync.written import Written

TOKEN_MAX = 32


@dataclass(frozen=True)
class Seen:
    """What one webhook event said of a record: when (None: it did not say) and which operation."""

    at: datetime | None
    operation: str


@dataclass(frozen=True)
class Ours:
    sync_token: str
    last_updated: datetime


def parse_qbo_time(text: str | None) -> datetime | None:
    """QBO's MetaData times carry an offset ("2026-03-02T16:01:02-08:00"); anything else is no time."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


async def remember(session: AsyncSession, company_id: uuid.UUID, written: Sequence[Written]) -> None:
    """Keep the version each write of this round left (one statement a round)."""
    rows: dict[str, dict] = {}
    for w in written:
        held = w.holds
        at = parse_qbo_time(held.last_updated) if held is not None else None
        if held is None or at is None or len(held.qbo_id) > 64 or len(held.sync_token) > TOKEN_MAX:
            continue
        rows[held.qbo_id] = {"company_id": company_id, "qbo_id": held.qbo_id, "sync_token": held.sync_token,
                             "last_updated": at}
    if not rows:
        return
    # One array parameter a column: the same statement text every round, compiled once (a VALUES list
    # of a round's 300 rows was compiled anew each round: db/bulk.py).
    stmt = insert_from_values(WrittenVersion, list(rows.values()))
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["company_id", "qbo_id"],
        set_={"sync_token": stmt.excluded.sync_token, "last_updated": stmt.excluded.last_updated,
              "recorded_at": stmt.excluded.recorded_at}))


async def forget(session: AsyncSession, company_id: uuid.UUID) -> None:
    """The company switched QuickBooks company: the old realm's versions say nothing of the new one's ids."""
    await session.execute(delete(WrittenVersion).where(WrittenVersion.company_id == company_id))


async def ours(session: AsyncSession, company_id: uuid.UUID, qbo_ids: Sequence[str]) -> dict[str, Ours]:
    if not qbo_ids:
        return {}
    rows = await session.execute(select(WrittenVersion.qbo_id, WrittenVersion.sync_token, WrittenVersion.last_updated)
                                 .where(WrittenVersion.company_id == company_id,
                                        WrittenVersion.qbo_id.in_(list(qbo_ids))))
    return {r.qbo_id: Ours(r.sync_token, r.last_updated) for r in rows}


def is_echo(seen: Sequence[Seen], our_token: str | None, kept: Ours | None) -> bool:
    """Every event says nothing newer than the version our last write left, and we still hold that version."""
    if not seen or kept is None or our_token is None or kept.sync_token != our_token:
        return False
    ours = "Create" if kept.sync_token == "0" else "Update"
    # A record we hold was created by us: its Create event is ours whatever our writes since.
    return all(s.at is not None and (s.at < kept.last_updated or (
        s.at == kept.last_updated and s.operation in (ours, "Create"))) for s in seen)
