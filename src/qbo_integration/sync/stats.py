"""What health and the metrics scrape read of sync's tables, as queries over them only.

`company_counts` is a statement health runs as part of its own (one round trip): it stays on the
indexes named in health/query.py's docstring.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnClause, Select, and_, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.sync import service as sync_service
from qbo_integration.sync.models import SyncJob
from qbo_integration.sync.models import TimecardSyncRecord as Row
from qbo_integration.sync.states import Kind, State

# Literals, not bound parameters: a partial index whose predicate is a parameter cannot serve a generic
# plan (health/query.py says why).
SYNCED: ColumnClause[str] = literal_column("'synced'")
OPEN_STATES = (State.PENDING, State.IN_FLIGHT, State.FAILED, State.DEAD)
Run = SyncJob  # a sync run as health shows it


def company_counts(company_id: uuid.UUID, *, today_start: datetime, zone: str, start_date: date | None) -> Select[Any]:
    """One row: pending (pending or in flight), retrying (failed for a passing reason), needs_fix (failed
    for a mapping or data reason), dead, oldest (the oldest due pending), synced_today (since
    `today_start`), unqueued (approved from `start_date` on, with no outbox row yet)."""
    transient = Row.error_kind == literal_column(f"'{Kind.TRANSIENT}'")
    states = (
        select(
            func.count().filter(Row.state.in_((State.PENDING, State.IN_FLIGHT))).label("pending"),
            func.count().filter(and_(Row.state == State.FAILED, transient)).label("retrying"),
            func.count().filter(and_(Row.state == State.FAILED, or_(Row.error_kind.is_(None), ~transient)))
            .label("needs_fix"),
            func.count().filter(Row.state == State.DEAD).label("dead"),
            func.min(Row.next_attempt_at).filter(Row.state == State.PENDING).label("oldest"),
        )
        .where(Row.company_id == company_id, Row.state.in_(OPEN_STATES))
        .subquery("states")
    )
    synced_today = (select(func.count()).where(Row.company_id == company_id, Row.state == SYNCED,
                                              Row.synced_at >= today_start).scalar_subquery())
    unqueued = sync_service.unqueued_approved(company_id, start_date, zone).scalar_subquery()
    return select(states.c.pending, states.c.retrying, states.c.needs_fix, states.c.dead, states.c.oldest,
                  synced_today.label("synced_today"), unqueued.label("unqueued"))


async def recent_runs(session: AsyncSession, company_id: uuid.UUID, limit: int) -> list[Run]:
    return list((await session.execute(
        select(SyncJob).where(SyncJob.company_id == company_id).order_by(SyncJob.created_at.desc()).limit(limit)
    )).scalars())


async def backlog_by_state(session: AsyncSession, states: tuple[str, ...]) -> dict[str, int]:
    """Outbox rows per state, over every company (the metrics scrape: GROUP BY on the state index)."""
    return {state: int(n) for state, n in (await session.execute(
        select(Row.state, func.count()).where(Row.state.in_(states)).group_by(Row.state))).all()}
