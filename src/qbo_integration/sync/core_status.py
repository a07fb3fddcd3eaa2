"""What Core is told of a timecard's sync (core.timecards.sync_status, qbo_id, qbo_synced_at), from its
outbox row: the one place that words a row's state for Core."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.sync.models import TimecardSyncRecord as Row
from qbo_integration.sync.states import Kind, State


def of(row: Row) -> str:
    """core.timecards.sync_status for an outbox row: a transient failure is still `pending` for Core."""
    if row.state in (State.PENDING, State.IN_FLIGHT) or (row.state == State.FAILED and row.error_kind == Kind.TRANSIENT):
        return "pending"
    if row.state in (State.FAILED, State.DEAD):
        return "failed"
    return "synced" if row.qbo_id else "not_synced"


async def report(session: AsyncSession, rows: Iterable[Row]) -> None:
    """Tell Core where these rows' timecards stand, in one statement."""
    await CoreGateway(session).write_sync_results(
        [(r.timecard_id, of(r), r.qbo_id, r.synced_at if r.qbo_id else None) for r in rows])
