"""The outbox's repository: the only code in sync/ that runs SQL on the outbox and ledger rows (stats.py
builds health's read-only counting statements; the claims that lease the rows are claims_repository's). Several rows are always locked in timecard_id order
(`lock_rows`); what the rows mean and how they change in memory is outbox.py's."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform import joins
from qbo_integration.core_platform.views import CompanyView, TimecardView
from qbo_integration.db.bulk import insert_from_values, update_from_values
from qbo_integration.sync import claims_repository, policy
from qbo_integration.sync.models import TimecardSyncRecord as Row
from qbo_integration.sync.outbox import Claimed, Entry, claimed_of, desire_of, want
from qbo_integration.sync.states import Kind, Op, State, Wanted

_ROWS: Table = Row.__table__  # type: ignore[assignment]


# LOCK_ORDER: a transaction that locks or inserts several outbox rows takes them in timecard_id order
# (re-derive, requeue, write-back), so two of them never wait on each other in a circle.


async def lock_row(session: AsyncSession, timecard_id: uuid.UUID) -> Row | None:
    stmt = select(Row).where(Row.timecard_id == timecard_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock_rows(session: AsyncSession, company_id: uuid.UUID | None = None, *,
                    ids: list[uuid.UUID] | None = None, timecard_ids: list[uuid.UUID] | None = None,
                    states: tuple[State, ...] | None = None, kinds: tuple[Kind, ...] | None = None) -> list[Row]:
    """Lock the rows matching every given condition, always in LOCK_ORDER."""
    stmt = select(Row).order_by(Row.timecard_id).with_for_update()
    if company_id is not None:
        stmt = stmt.where(Row.company_id == company_id)
    if ids is not None:
        stmt = stmt.where(Row.id.in_(ids))
    if timecard_ids is not None:
        stmt = stmt.where(Row.timecard_id.in_(timecard_ids))
    if states is not None:
        stmt = stmt.where(Row.state.in_(states))
    if kinds is not None:
        stmt = stmt.where(Row.error_kind.in_(kinds))
    return list((await session.execute(stmt)).scalars())


async def row_naming(session: AsyncSession, company_id: uuid.UUID, qbo_id: str) -> Any:
    """(timecard_id, qbo_sync_token, state, pending_op) of the row that holds this QBO record, if any."""
    return (await session.execute(
        select(Row.timecard_id, Row.qbo_sync_token, Row.state, Row.pending_op)
        .where(Row.company_id == company_id, Row.qbo_id == qbo_id).limit(1))).first()


async def rows_naming_records(session: AsyncSession, company_id: uuid.UUID) -> list[Any]:
    """(timecard_id, qbo_id, qbo_sync_token, state, pending_op, synced_at) of every row naming a QBO record."""
    return list((await session.execute(
        select(Row.timecard_id, Row.qbo_id, Row.qbo_sync_token, Row.state, Row.pending_op, Row.synced_at)
        .where(Row.company_id == company_id, Row.qbo_id.is_not(None)))).all())


async def in_qbo(session: AsyncSession, timecard_ids: list[uuid.UUID], chunk: int = 5000) -> set[uuid.UUID]:
    """Which of these timecards QBO holds (or held: synced, or a record id kept): the fallback CSV leaves them out."""
    found: set[uuid.UUID] = set()
    for i in range(0, len(timecard_ids), chunk):
        rows = await session.execute(select(Row.timecard_id).where(
            Row.timecard_id.in_(timecard_ids[i:i + chunk]), or_(Row.state == State.SYNCED, Row.qbo_id.is_not(None))))
        found.update(rows.scalars())
    return found


async def rows_by_timecard(session: AsyncSession, company_id: uuid.UUID,
                           timecard_ids: list[uuid.UUID]) -> dict[uuid.UUID, Row]:
    """These timecards' rows, unlocked (to show them, never to change them)."""
    if not timecard_ids:
        return {}
    stmt = select(Row).where(Row.company_id == company_id, Row.timecard_id.in_(timecard_ids))
    return {r.timecard_id: r for r in (await session.execute(stmt)).scalars()}


def in_states(states: tuple[State, ...], *, or_none: bool) -> Any:
    """A condition on an outer-joined row: in one of these states (or, with `or_none`, no row at all)."""
    cond = Row.state.in_(states)
    return or_(cond, Row.id.is_(None)) if or_none else cond


async def held_version(session: AsyncSession, timecard_id: uuid.UUID) -> int | None:
    """The timecard version the row holds (an event older than it is stale)."""
    return (await session.execute(select(Row.timecard_version).where(Row.timecard_id == timecard_id))
            ).scalar_one_or_none()


async def rows_of(session: AsyncSession, company_id: uuid.UUID, timecard_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """(timecard_version, operation, qbo_id) of these timecards' rows, by timecard id, unlocked."""
    rows = await session.execute(select(Row.timecard_id, Row.timecard_version, Row.operation, Row.qbo_id)
                                 .where(Row.company_id == company_id, Row.timecard_id.in_(timecard_ids)))
    return {r.timecard_id: r for r in rows}


async def upsert_for_timecard(session: AsyncSession, company: CompanyView, timecard_id: uuid.UUID,
                              timecard: TimecardView | None, start_date: date | None,
                              now: datetime) -> tuple[Row | None, bool]:
    """Bring the timecard's row in line with the current timecard. Returns (row, changed)."""
    desire = desire_of(company, timecard, start_date)
    version = timecard.version if timecard else 0
    row = await lock_row(session, timecard_id)
    if row is None:
        if desire is not Wanted.PRESENT:
            return None, False
        await session.execute(insert(Row).values(
            id=uuid.uuid4(), company_id=company.id, timecard_id=timecard_id, operation=Op.CREATE,
            state=State.PENDING, timecard_version=version, attempts=0, next_attempt_at=now,
            approved_at=timecard.approved_at if timecard else None,
        ).on_conflict_do_nothing(index_elements=[Row.timecard_id]))
        row = await lock_row(session, timecard_id)
        assert row is not None
        if row.timecard_version == version and row.operation == Op.CREATE and row.state == State.PENDING:
            return row, True
    if timecard is None:  # deleted in Core: keep the version we knew
        version = row.timecard_version or 0
    if timecard is not None and timecard.approved_at:
        row.approved_at = timecard.approved_at
    return row, want(row, desire, version, now)


async def insert_new(session: AsyncSession, company_id: uuid.UUID, timecards: list[TimecardView], now: datetime) -> None:
    """Rows for timecards that have none yet, in one statement (a concurrent insert wins quietly)."""
    if not timecards:
        return
    await session.execute(
        insert_from_values(Row, [
            {"id": uuid.uuid4(), "company_id": company_id, "timecard_id": tc.id, "operation": Op.CREATE,
             "state": State.PENDING, "timecard_version": tc.version, "attempts": 0, "next_attempt_at": now,
             "approved_at": tc.approved_at} for tc in sorted(timecards, key=lambda tc: tc.id)  # LOCK_ORDER
        ]).on_conflict_do_nothing(index_elements=[Row.timecard_id])
    )


async def lock_rederive(session: AsyncSession, company_id: uuid.UUID) -> None:
    """One re-derivation of a company at a time (a Sync Now's, a job's, the sweep's): each inserts new rows
    before it locks existing ones, so two could wait on each other (LOCK_ORDER)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                          {"k": f"sync:rederive:{company_id}"})


async def all_candidates(session: AsyncSession, company_id: uuid.UUID,
                         start: date | None) -> tuple[list[uuid.UUID], set[uuid.UUID]]:
    """(timecards whose row may be out of line with Core, those among them with no row yet) over the company's
    whole history, found by PostgreSQL so only they are read: approved timecards with no row or a newer version
    than the row holds, and rows that still want QBO to hold a timecard no longer approved, or gone."""
    fresh = joins.approved_out_of_line(
        company_id, start, row_id=Row.id, row_timecard_id=Row.timecard_id, row_version=Row.timecard_version)
    # The row still wants QBO to hold its timecard (or is about to).
    wants_qbo = or_(Row.operation.in_((Op.CREATE, Op.UPDATE)), and_(Row.qbo_id.is_not(None), Row.operation != Op.DELETE))
    stale = joins.held_not_approved(
        company_id, start, row_timecard_id=Row.timecard_id, row_company_id=Row.company_id, row_wanted=wants_qbo)
    # One statement for both: a stale row's "has no row" is NULL.
    found = (await session.execute(union_all(fresh, stale.add_columns(cast(null(), Boolean))))).all()
    return [t for t, _ in found], {t for t, no_row in found if no_row}


# ------------------------------------------------------------------------------------ claiming


def _retryable():  # noqa: ANN202 - a SQL expression
    """A row a job may send when due: pending, or failed transiently (its retry is scheduled)."""
    return or_(Row.state == State.PENDING, and_(Row.state == State.FAILED, Row.error_kind == Kind.TRANSIENT))


def _lapsed(now: datetime):  # noqa: ANN202 - a SQL expression
    """An in-flight row whose holder may no longer send for it: another job may take it over. The row's own
    `lease_until` is the lease it was claimed with (a round of the code before sync_claims renewed it)."""
    return and_(Row.state == State.IN_FLIGHT, Row.lease_until < now, ~claims_repository.live(now))


def due_condition(company_id: uuid.UUID, now: datetime):  # noqa: ANN201 - a SQL expression
    retryable = _retryable()
    return and_(
        Row.company_id == company_id,
        or_(
            and_(retryable, Row.next_attempt_at <= now),
            _lapsed(now),
        ),
    )


async def claim_due(
    session: AsyncSession, company_id: uuid.UUID, *, worker: str, job_id: uuid.UUID | None,
    now: datetime, limit: int = 300,
) -> list[Claimed]:
    """Take due rows for this job under a fresh claim token and a lease until `now + policy.LEASE`, in one
    statement. Rows locked by another job's claim are skipped, never shared; a row whose lease lapsed is
    taken over (its old holder sends nothing more for it, and its write-back finds another token and
    changes nothing). A ledger entry its old holder never reported went out at the latest when that lease
    ended: its settle deadline counts from then (outcome.unknown_for_sure_at).

    The lapsed claims of the company are revoked first (never renewed again), so the lease an old holder
    sends under can no longer move past the one its rows are taken over with."""
    await claims_repository.revoke_lapsed(session, company_id, now)
    due = (
        select(Row.id)
        .where(due_condition(company_id, now))
        .order_by(Row.next_attempt_at, Row.timecard_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    token = uuid.uuid4()
    # A Core UPDATE of the table: the ORM would add its bulk-update handling and nothing else.
    stmt = (
        update(_ROWS).where(_ROWS.c.id.in_(due))
        .values(state=State.IN_FLIGHT, claimed_by=worker[:100], claimed_at=now, claim_token=token, last_job_id=job_id,
                lease_until=now + policy.LEASE,
                pending_unknown_at=case((and_(_ROWS.c.state == State.IN_FLIGHT, _ROWS.c.pending_op.is_not(None),
                                              _ROWS.c.pending_unknown_at.is_(None)), claims_repository.lease_end(_ROWS.c.claim_token, _ROWS.c.lease_until)),
                                        else_=_ROWS.c.pending_unknown_at))
        .returning(*_ROWS.c)
    )
    taken = sorted((await session.execute(stmt)).all(), key=lambda r: (r.next_attempt_at, r.timecard_id))
    await claims_repository.open_claim(session, company_id, token if taken else None, now + policy.LEASE)
    return [claimed_of(r) for r in taken]


async def record_outstanding(session: AsyncSession, entries: dict[uuid.UUID, tuple[uuid.UUID | None, Entry]],
                             now: datetime, realm_id: str) -> set[uuid.UUID]:
    """Write each row's ledger entry BEFORE its request is sent (the caller commits first), only where
    the row is still held under the job's claim token, in one statement; its claim counts from now, and
    the row's ids belong to `realm_id` from now. Returns the rows recorded: only those are sent."""
    if not entries:
        return set()
    values = [{"id": row_id, "claim_token": token, "pending_op": e.op, "pending_request_id": e.request_id,
               "pending_fingerprint": e.fingerprint, "pending_version": e.version, "pending_body": e.body,
               "pending_since": now, "pending_unknown_at": None, "realm_id": realm_id}
              for row_id, (token, e) in entries.items()]
    stmt = update_from_values(Row, values, match=("id", "claim_token"), assign=(*LEDGER_COLUMNS, "realm_id"))
    # Recording renews the claim: a round claimed ahead, while the one before it sent, is not "stale" yet.
    res = await session.execute(stmt.values(claimed_at=now).where(Row.state == State.IN_FLIGHT).returning(Row.id)
                                .execution_options(synchronize_session=False))
    return set(res.scalars())


LEDGER_COLUMNS = ("pending_op", "pending_request_id", "pending_fingerprint", "pending_version", "pending_body",
                  "pending_since", "pending_unknown_at")
# What the write-back of a round may change on a row (write_back sets them all in one statement).
SETTLED_COLUMNS = ("operation", "state", "timecard_version", "synced_version", "fingerprint", "attempts",
                   "next_attempt_at", "claimed_at", "claimed_by", "lease_until", "qbo_id", "qbo_sync_token", "wanted",
                   "claim_token", *LEDGER_COLUMNS, "error_kind", "last_error", "last_error_code", "synced_at")


async def write_back(session: AsyncSession, rows: list[Row]) -> None:
    """Store these rows' facts as the write-back left them, in one statement. The rows are detached
    from the session (locked FOR UPDATE by the caller's transaction), so nothing else flushes them."""
    if rows:
        values = [{c: getattr(r, c) for c in ("id", *SETTLED_COLUMNS)} for r in rows]
        await session.execute(update_from_values(Row, values, match=("id",), assign=SETTLED_COLUMNS)
                              .execution_options(synchronize_session=False))


async def unclaim(session: AsyncSession, claimed: list[Claimed], now: datetime) -> None:
    """Give back rows a round still holds (cut short, its lease ended at `now`); their ledger entries stay,
    sent at the latest `now`."""
    tokens = {c.claim_token for c in claimed}
    await session.execute(update(Row).where(Row.id.in_([c.id for c in claimed]), Row.state == State.IN_FLIGHT,
                                            Row.claim_token.in_(tokens))
                          .values(state=State.PENDING, claimed_at=None, claimed_by=None, claim_token=None,
                                  lease_until=None,
                                  pending_unknown_at=case((and_(Row.pending_op.is_not(None),
                                                                Row.pending_unknown_at.is_(None)), now),
                                                          else_=Row.pending_unknown_at))
                          .execution_options(synchronize_session=False))
    await claims_repository.close(session, tokens)


async def qbo_ids_held(session: AsyncSession, company_id: uuid.UUID, qbo_ids: set[str]) -> set[str]:
    """Which of these QBO ids the company's rows hold."""
    if not qbo_ids:
        return set()
    stmt = select(Row.qbo_id).where(Row.company_id == company_id, Row.qbo_id.in_(qbo_ids))
    return {q for q in (await session.execute(stmt)).scalars() if q}


async def has_due(session: AsyncSession, company_id: uuid.UUID, now: datetime) -> bool:
    return bool((await session.execute(select(exists().where(due_condition(company_id, now))))).scalar())


async def leases_in_flight(session: AsyncSession, company_id: uuid.UUID, now: datetime) -> tuple[bool, datetime | None]:
    """(whether a row of the company is in flight under a lease that lapsed, the earliest lease still running)."""
    lapsed = exists().where(Row.company_id == company_id, _lapsed(now))
    first = claims_repository.earliest_live_lease(company_id, now)
    found, at = (await session.execute(select(lapsed, first))).one()
    return bool(found), at


async def has_pending_with_codes(session: AsyncSession, company_id: uuid.UUID, codes: tuple[str, ...]) -> bool:
    """A pending row whose last failure had one of these codes (re-queued after the books refused it)."""
    return bool((await session.execute(select(exists().where(
        Row.company_id == company_id, Row.state == State.PENDING, Row.last_error_code.in_(codes))))).scalar())


async def first_pending_after(session: AsyncSession, company_id: uuid.UUID, now: datetime) -> datetime | None:
    """When the earliest row that is pending but not yet due falls due."""
    return (await session.execute(select(func.min(Row.next_attempt_at)).where(
        Row.company_id == company_id, Row.state == State.PENDING, Row.next_attempt_at > now))).scalar()


async def count_waiting(session: AsyncSession, company_id: uuid.UUID) -> int:
    """Rows pending or in flight."""
    return int((await session.execute(select(func.count()).where(
        Row.company_id == company_id, Row.state.in_((State.PENDING, State.IN_FLIGHT))))).scalar_one())


async def dead_rows(session: AsyncSession, company_id: uuid.UUID, limit: int) -> list[Row]:
    stmt = (select(Row).where(Row.company_id == company_id, Row.state == State.DEAD)
            .order_by(Row.updated_at.desc()).limit(limit))
    return list((await session.execute(stmt)).scalars())


async def refused_by_books(session: AsyncSession, company_id: uuid.UUID, codes: tuple[str, ...], *,
                           dated_after: tuple[str, date] | None = None) -> list[uuid.UUID]:
    """Timecards whose rows the company's books refused with one of these codes; with `dated_after`
    (timezone, day), only those dated after that day (core_platform.joins)."""
    stmt = select(Row.timecard_id).where(Row.company_id == company_id, Row.state == State.FAILED,
                                         Row.error_kind == Kind.VALIDATION, Row.last_error_code.in_(codes))
    if dated_after is not None:
        stmt = joins.dated_after(stmt, Row.timecard_id, *dated_after)
    return list((await session.execute(stmt)).scalars())


def unqueued_approved(company_id: uuid.UUID, start_date: Any, timezone: Any) -> Select[Any]:
    """How many approved timecards on or after `start_date` (a date in `timezone`, as desire_of has it)
    have no outbox row yet (core_platform.joins). Either argument may be a value or a column of an
    enclosing query."""
    return joins.unqueued_approved(company_id, start_date, timezone, row_timecard_id=Row.timecard_id)


async def count_unqueued(session: AsyncSession, company_id: uuid.UUID, start_date: date | None, timezone: str) -> int:
    return int((await session.execute(unqueued_approved(company_id, start_date, timezone))).scalar_one())


async def next_due_at(session: AsyncSession, company_id: uuid.UUID) -> datetime | None:
    """The earliest scheduled retry of this company (to nudge a job then)."""
    retryable = _retryable()
    stmt = select(func.min(Row.next_attempt_at)).where(Row.company_id == company_id, retryable)
    return (await session.execute(stmt)).scalar_one_or_none()


async def due_or_next(session: AsyncSession, company_id: uuid.UUID, now: datetime) -> tuple[bool, datetime | None]:
    """(a row is due now, as claim_due would take it; the earliest scheduled retry, as next_due_at), in
    one statement: what a job asks when its last claim took every row due then."""
    stale = exists().where(Row.company_id == company_id, _lapsed(now))
    earliest = select(func.min(Row.next_attempt_at)).where(Row.company_id == company_id, _retryable())
    stale_now, at = (await session.execute(select(stale, earliest.scalar_subquery()))).one()
    return bool(stale_now) or (at is not None and at <= now), at


# ------------------------------------------------------------------------------------ switching realm


def company_rows(company_id: uuid.UUID) -> Select[tuple[str, Any]]:
    """Every outbox row of the company as (ref, record): what a switch to another realm archives."""
    return select(cast(Row.timecard_id, String).label("ref"),
                  func.to_jsonb(literal_column(Row.__tablename__)).label("record")).where(Row.company_id == company_id)


async def delete_company_rows(session: AsyncSession, company_id: uuid.UUID) -> int:
    """After archiving: the company's timecards start afresh (as new creates) in the new realm."""
    result = await session.execute(delete(Row).where(Row.company_id == company_id)
                                   .execution_options(synchronize_session=False))
    # Their claims go too: a round still sending for them renews nothing more, and stops at its lease's end.
    await claims_repository.delete_company(session, company_id)
    return int(result.rowcount)  # type: ignore[attr-defined]
