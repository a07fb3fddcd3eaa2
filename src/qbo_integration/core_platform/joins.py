"""Core's timecards joined with a table of ours keyed by timecard (sync's outbox rows).

These are the queries that combine core.* with our tables in one statement, so PostgreSQL finds the few
timecards that need work instead of us reading the company's whole history. They live here because
core_platform is the only code that touches Core's tables; the caller hands in its own columns, so
core_platform imports nothing above it. (A gateway to Core over HTTP could not join: these are the
functions that would change.)
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    and_,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
)

from qbo_integration.core_platform.models import Project, Timecard, User


def _since(start: date | None) -> Any:
    return Timecard.clock_in >= datetime.combine(start, time.min, UTC) if start is not None else true()


def approved_out_of_line(company_id: uuid.UUID, start: date | None, *, row_id: Any, row_timecard_id: Any,
                         row_version: Any) -> Select[Any]:
    """(timecard id, has no row) of the company's approved timecards clocked in from `start` (UTC midnight)
    on that have no row, or a newer version than their row holds."""
    return (select(Timecard.id, row_id.is_(None)).outerjoin(row_timecard_id.table, row_timecard_id == Timecard.id)
            .where(Timecard.company_id == company_id, Timecard.status == "approved", _since(start),
                   or_(row_id.is_(None), row_version < Timecard.version)))


def held_not_approved(company_id: uuid.UUID, start: date | None, *, row_timecard_id: Any, row_company_id: Any,
                      row_wanted: ColumnElement[bool]) -> Select[Any]:
    """The timecard ids of the company's rows matching `row_wanted` whose timecard is gone, no longer
    approved, or clocked in before `start`."""
    approved_now = and_(Timecard.status == "approved", _since(start))
    return (select(row_timecard_id).outerjoin(Timecard, Timecard.id == row_timecard_id)
            .where(row_company_id == company_id, row_wanted, or_(Timecard.id.is_(None), ~approved_now)))


def dated_after(rows: Select[Any], row_timecard_id: Any, timezone: str, day: date) -> Select[Any]:
    """`rows` narrowed to those whose timecard is dated (its clock-in in `timezone`) after `day`."""
    dated = cast(func.timezone(timezone, Timecard.clock_in), Date)
    return rows.join(Timecard, Timecard.id == row_timecard_id).where(dated > day)


def unqueued_approved(company_id: uuid.UUID, start_date: Any, timezone: Any, *, row_timecard_id: Any) -> Select[Any]:
    """How many approved timecards on or after `start_date` (a date in `timezone`) have no row. Either
    argument may be a value or a column of an enclosing query.

    Only timecards Core still marks `not_synced` can lack a row (every row we create writes `pending`
    or a result back), so that narrows the scan before the anti-join: with 50,000 synced timecards the
    anti-join alone built a 50,000-row hash on every call (320 ms on a loaded machine)."""
    stmt = select(func.count()).where(Timecard.company_id == company_id, Timecard.status == literal_column("'approved'"),
                                      Timecard.sync_status == literal_column("'not_synced'"),
                                      ~exists().where(row_timecard_id == Timecard.id))
    if start_date is None:
        return stmt
    on_or_after = cast(func.timezone(timezone, Timecard.clock_in), Date) >= start_date
    if isinstance(start_date, ColumnElement):
        return stmt.where(or_(start_date.is_(None), on_or_after))
    return stmt.where(on_or_after)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def find_timecards(company_id: uuid.UUID, *, zone: str, worker: str | None, project: str | None,
                   start: date | None, end: date | None, after: tuple[datetime, uuid.UUID] | None,
                   row_timecard_id: Any, row_condition: ColumnElement[bool] | None,
                   limit: int) -> Select[uuid.UUID, datetime]:
    """(timecard id, clock_in) of the company's timecards whose worker's and project's names hold the given
    text, dated (clock-in in `zone`) from `start` to `end`, and whose row of ours (outer-joined on
    `row_timecard_id`; its columns are NULL when it has none) meets `row_condition`: the latest first,
    after the cursor (the last (clock_in, id) of the previous page)."""
    stmt = (select(Timecard.id, Timecard.clock_in).where(Timecard.company_id == company_id)
            .outerjoin(row_timecard_id.table, row_timecard_id == Timecard.id))
    if worker:
        stmt = stmt.join(User, User.id == Timecard.worker_id).where(User.name.ilike(_like(worker), escape="\\"))
    if project:
        stmt = stmt.join(Project, Project.id == Timecard.project_id).where(
            Project.name.ilike(_like(project), escape="\\"))
    day = cast(func.timezone(zone, Timecard.clock_in), Date)
    if start is not None:
        stmt = stmt.where(day >= start)
    if end is not None:
        stmt = stmt.where(day <= end)
    if row_condition is not None:
        stmt = stmt.where(row_condition)
    if after is not None:
        stmt = stmt.where(tuple_(Timecard.clock_in, Timecard.id) < tuple_(*after))
    return stmt.order_by(Timecard.clock_in.desc(), Timecard.id.desc()).limit(limit)
