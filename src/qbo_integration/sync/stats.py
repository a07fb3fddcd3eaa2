"""What health and the metrics scrape read of sync's tables, as queries over them only.

`company_counts` is a statement health runs as part of its own (one round trip): it stays on the
indexes named in health/query.py's docstring.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    DateTime,
    Select,
    Uuid,
    and_,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.sync import outbox_repository, policy
from qbo_integration.sync.models import SyncJob
from qbo_integration.sync.models import TimecardSyncRecord as Row
from qbo_integration.sync.states import Kind, Op, State

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
    unqueued = outbox_repository.unqueued_approved(company_id, start_date, zone).scalar_subquery()
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


# ------------------------------------------------------------------------------------ what rows wait for
# The reasons are sync.waits.Reason's values; the order of the CASE is the rule (first match wins).
# The statements are built once per shape (connected, live, breaker open) and bound at execution
# (`waiting_params`): health runs one on every computation, and building the CASE cost more than running it.

_NOW = bindparam("now", type_=DateTime(timezone=True))
_BREAKER_UNTIL = bindparam("breaker_until", type_=DateTime(timezone=True))
_COMPANY = bindparam("company_id", type_=Uuid())
_TIMECARDS = bindparam("timecard_ids", type_=Uuid(), expanding=True)


def reason_of(*, connected: bool, enabled: bool, breaker: bool) -> ColumnElement[str]:
    """What an open outbox row waits for, as a SQL expression (docs: sync/waits.py); `now` and, with
    `breaker` (open), `breaker_until` are bound at execution."""
    failed = Row.state == State.FAILED
    transient = Row.error_kind == Kind.TRANSIENT
    whens: list[tuple[Any, str]] = [
        (Row.state == State.DEAD, "dead"),
        (and_(failed, Row.error_kind == Kind.MAPPING), "needs_mapping"),
        (and_(failed, Row.error_kind == Kind.VALIDATION, Row.last_error_code == policy.BOOKS_CLOSED), "books_closed"),
        (and_(failed, or_(Row.error_kind.is_(None), ~transient)), "refused"),
    ]
    # from here on the row wants to be sent (pending, in flight, or a scheduled retry)
    if not connected:
        whens.append((literal(True), "not_connected"))
    elif not enabled:
        whens.append((literal(True), "live_sync_off"))
    whens += [
        (Row.state == State.IN_FLIGHT, "sending"),
        (and_(Row.operation == Op.SETTLE, Row.pending_op.is_not(None)), "confirming"),
    ]
    if breaker:
        whens.append((Row.next_attempt_at < _BREAKER_UNTIL, "breaker_open"))
    whens += [
        (failed, "retry_scheduled"),
        (and_(Row.error_kind == Kind.WAIT, Row.next_attempt_at > _NOW), "throttled"),
    ]
    return case(*whens, else_=literal("sending"))


def waiting_params(company_id: uuid.UUID, now: datetime, breaker_until: datetime | None,
                   timecard_ids: list[uuid.UUID] | None = None) -> dict[str, Any]:
    """The values the statements below are executed with."""
    params: dict[str, Any] = {"company_id": company_id, "now": now, "breaker_until": breaker_until}
    if timecard_ids is not None:
        params["timecard_ids"] = timecard_ids
    return params


@lru_cache(maxsize=16)
def waiting_groups(*, connected: bool, enabled: bool, breaker: bool, of_timecards: bool = False) -> Select[Any]:
    """The company's open rows (with `of_timecards`, only the bound `timecard_ids`) by reason: count, the
    earliest and latest next attempt, the earliest and latest change. A confirming row's deadline is a
    rule of sync.outcome (read in Python), so those rows are grouped by the ledger times it reads as well:
    one group per round that lost its answers."""
    reason = reason_of(connected=connected, enabled=enabled, breaker=breaker)
    rows = select(reason.label("reason"), Row.pending_since, Row.pending_unknown_at, Row.next_attempt_at,
                  Row.updated_at).where(Row.company_id == _COMPANY, Row.state.in_(OPEN_STATES))
    if of_timecards:
        rows = rows.where(Row.timecard_id.in_(_TIMECARDS))
    c = rows.subquery("open_rows").c
    confirming = c.reason == literal("confirming")
    since, unknown = case((confirming, c.pending_since)), case((confirming, c.pending_unknown_at))
    return (select(c.reason, since.label("pending_since"), unknown.label("pending_unknown_at"), func.count().label("n"),
                   func.min(c.next_attempt_at).label("first_at"), func.max(c.next_attempt_at).label("last_at"),
                   func.min(c.updated_at).label("first_changed"), func.max(c.updated_at).label("last_changed"))
            .group_by(c.reason, since, unknown))


@lru_cache(maxsize=8)
def timecard_reasons(*, connected: bool, enabled: bool, breaker: bool) -> Select[Any]:
    """The same classification for the bound `timecard_ids`, one row each (a synced row's reason is "synced")."""
    reason = case((Row.state == State.SYNCED, literal("synced")),
                  else_=reason_of(connected=connected, enabled=enabled, breaker=breaker))
    return select(Row.timecard_id, reason.label("reason"), Row.pending_since, Row.pending_unknown_at,
                  Row.next_attempt_at, Row.updated_at, Row.synced_at, Row.qbo_id, Row.realm_id).where(
        Row.company_id == _COMPANY, Row.timecard_id.in_(_TIMECARDS))
