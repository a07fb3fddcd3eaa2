"""The outbox: one TimecardSyncRecord per timecard, and every state change it may go through.

A row says what QBO should hold for a timecard (`operation` + `timecard_version`) and how far we
got (`state`, `qbo_id`, `synced_version`). Intake, the sweep and Sync Now only *want* things
(`want`); sync jobs *claim* due rows (`claim_due`, `FOR UPDATE SKIP LOCKED`) and *settle* them
(`settle_success` / `settle_failure`). A row changed while in flight is re-evaluated when it
settles, so an edit that arrives during a send is never lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.views import CompanyView, TimecardView
from qbo_integration.sync import policy
from qbo_integration.sync.models import TimecardSyncRecord as Row


class Desire(Enum):
    PRESENT = "present"  # approved (and on/after the sync start date): QBO should hold it
    ABSENT = "absent"  # unapproved/deleted: QBO should not
    SKIP = "skip"  # approved but dated before the sync start date: never sent


def txn_date(company: CompanyView, timecard: TimecardView) -> date:
    """The QBO TxnDate: the clock-in date in the company's timezone."""
    return timecard.clock_in.astimezone(company.zone).date()


def desire_of(company: CompanyView, timecard: TimecardView | None, start_date: date | None) -> Desire:
    if timecard is None or timecard.status != "approved" or timecard.company_id != company.id:
        return Desire.ABSENT
    if start_date is not None and txn_date(company, timecard) < start_date:
        return Desire.SKIP
    return Desire.PRESENT


def operation_for(row: Row, desire: Desire, version: int) -> str:
    if desire is Desire.SKIP:
        desire = Desire.PRESENT if row.qbo_id else Desire.ABSENT
    if desire is Desire.PRESENT:
        if row.qbo_id is None:
            return "create"
        return "none" if row.synced_version == version else "update"
    if row.qbo_id is not None or row.state == "in_flight":
        return "delete"  # in flight: a create may be landing right now; delete it once it has
    return "none"


def apply_op(row: Row, op: str, version: int, now: datetime) -> None:
    row.operation = op
    row.timecard_version = max(version, row.timecard_version or 0)
    if row.state == "in_flight":
        return  # settle_* re-evaluates when the job reports back
    if op == "none":
        row.state = "synced"
        row.error_kind = row.last_error = row.last_error_code = None
        return
    row.state = "pending"
    row.attempts = 0
    row.next_attempt_at = now
    row.error_kind = row.last_error = row.last_error_code = None


def want(row: Row, desire: Desire, version: int, now: datetime) -> bool:
    """Record what QBO should hold. True when that changed (a job has work); duplicates change nothing."""
    op = operation_for(row, desire, version)
    if op == row.operation and version <= (row.timecard_version or 0):
        return False
    apply_op(row, op, version, now)
    return True


async def lock_row(session: AsyncSession, timecard_id: uuid.UUID) -> Row | None:
    stmt = select(Row).where(Row.timecard_id == timecard_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def upsert_for_timecard(
    session: AsyncSession,
    company: CompanyView,
    timecard_id: uuid.UUID,
    timecard: TimecardView | None,
    start_date: date | None,
    now: datetime,
) -> tuple[Row | None, bool]:
    """Bring the timecard's row in line with the current timecard. Returns (row, changed)."""
    desire = desire_of(company, timecard, start_date)
    version = timecard.version if timecard else 0
    row = await lock_row(session, timecard_id)
    if row is None:
        if desire is not Desire.PRESENT:
            return None, False
        await session.execute(
            insert(Row)
            .values(
                id=uuid.uuid4(), company_id=company.id, timecard_id=timecard_id, operation="create",
                state="pending", timecard_version=version, attempts=0, next_attempt_at=now,
                approved_at=timecard.approved_at if timecard else None,
            )
            .on_conflict_do_nothing(index_elements=[Row.timecard_id])
        )
        row = await lock_row(session, timecard_id)
        assert row is not None
        if row.timecard_version == version and row.operation == "create" and row.state == "pending":
            return row, True
    if timecard is None:  # deleted in Core: keep the version we knew
        version = row.timecard_version or 0
    if timecard is not None and timecard.approved_at:
        row.approved_at = timecard.approved_at
    return row, want(row, desire, version, now)


async def insert_new(session: AsyncSession, company_id: uuid.UUID, timecards: list[TimecardView],
                     now: datetime) -> None:
    """Rows for timecards that have none yet, in one statement (a concurrent insert wins quietly)."""
    if not timecards:
        return
    await session.execute(
        insert(Row).values([
            {"id": uuid.uuid4(), "company_id": company_id, "timecard_id": tc.id, "operation": "create",
             "state": "pending", "timecard_version": tc.version, "attempts": 0, "next_attempt_at": now,
             "approved_at": tc.approved_at} for tc in timecards
        ]).on_conflict_do_nothing(index_elements=[Row.timecard_id])
    )


# ------------------------------------------------------------------------------------ claiming


@dataclass(frozen=True)
class Claimed:
    """What a job took: a snapshot of the row at claim time."""

    id: uuid.UUID
    timecard_id: uuid.UUID
    operation: str
    version: int
    qbo_id: str | None
    sync_token: str | None
    synced_version: int | None
    request_id: str | None
    fingerprint: str | None
    attempts: int
    approved_at: datetime | None


def due_condition(company_id: uuid.UUID, now: datetime):  # noqa: ANN201 - a SQL expression
    retryable = or_(Row.state == "pending", and_(Row.state == "failed", Row.error_kind == policy.TRANSIENT))
    return and_(
        Row.company_id == company_id,
        or_(
            and_(retryable, Row.next_attempt_at <= now),
            and_(Row.state == "in_flight", Row.claimed_at < now - policy.RECLAIM_AFTER),
        ),
    )


async def claim_due(
    session: AsyncSession, company_id: uuid.UUID, *, worker: str, job_id: uuid.UUID | None,
    now: datetime, limit: int = 300,
) -> list[Claimed]:
    """Take due rows for this job. Rows locked by another job's claim are skipped, never shared."""
    stmt = (
        select(Row)
        .where(due_condition(company_id, now))
        .order_by(Row.next_attempt_at, Row.request_id, Row.timecard_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list((await session.execute(stmt)).scalars())
    rows += await _rest_of_their_batches(session, company_id, rows, now)
    out = []
    for r in rows:
        r.state = "in_flight"
        r.claimed_by = worker[:100]
        r.claimed_at = now
        r.last_job_id = job_id
        out.append(Claimed(r.id, r.timecard_id, r.operation, r.timecard_version, r.qbo_id, r.qbo_sync_token,
                           r.synced_version, r.request_id, r.fingerprint, r.attempts, r.approved_at))
    return out


def batch_key(request_id: str | None) -> str | None:
    """The batch a create was first sent in ("{key}:{i}:{n}"), or None for a single create."""
    if not request_id or request_id.count(":") != 2:
        return None
    return request_id.split(":", 1)[0]


async def _rest_of_their_batches(session: AsyncSession, company_id: uuid.UUID, rows: list[Row],
                                 now: datetime) -> list[Row]:
    """Due members of the claimed rows' batches that the limit cut off. A batch whose outcome was unknown
    (timeout, 5xx after QBO committed) is safe to re-send only whole: its request id, derived from all
    members, then repeats and QBO replays the original answer. Sent in parts, the parts would be
    created a second time."""
    keys = {k for k in (batch_key(r.request_id) for r in rows) if k}
    if not keys:
        return []
    have = {r.id for r in rows}
    stmt = (
        select(Row)
        .where(due_condition(company_id, now), or_(*(Row.request_id.like(f"{k}:%") for k in keys)))
        .with_for_update(skip_locked=True)
    )
    return [r for r in (await session.execute(stmt)).scalars() if r.id not in have]


async def remember_request_ids(session: AsyncSession, assignments: dict[uuid.UUID, tuple[str, str]]) -> None:
    """Persist (request_id, fingerprint) per row BEFORE the create is sent: a retry repeats the id."""
    if assignments:
        await session.execute(
            update(Row),
            [{"id": row_id, "request_id": rid, "fingerprint": fp} for row_id, (rid, fp) in assignments.items()],
        )


async def next_due_at(session: AsyncSession, company_id: uuid.UUID) -> datetime | None:
    """The earliest scheduled retry of this company (to nudge a job then)."""
    retryable = or_(Row.state == "pending", and_(Row.state == "failed", Row.error_kind == policy.TRANSIENT))
    stmt = select(func.min(Row.next_attempt_at)).where(Row.company_id == company_id, retryable)
    return (await session.execute(stmt)).scalar_one_or_none()


# ------------------------------------------------------------------------------------ settling


def _release(row: Row) -> None:
    row.claimed_at = None
    row.claimed_by = None


def _changed_since_claim(row: Row, claimed: Claimed) -> bool:
    """An event changed what is wanted while the row was in flight."""
    return row.operation != claimed.operation or (row.timecard_version or 0) > claimed.version


def re_evaluate(row: Row, now: datetime) -> None:
    """After a send: is there more to do (an edit or unapproval arrived meanwhile)?"""
    wanted_present = row.operation in ("create", "update") or (row.operation == "none" and row.qbo_id)
    desire = Desire.PRESENT if wanted_present else Desire.ABSENT
    row.state = "synced"
    apply_op(row, operation_for(row, desire, row.timecard_version or 0), row.timecard_version or 0, now)


def settle_success(row: Row, claimed: Claimed, *, sent_op: str, sent_version: int, now: datetime,
                   qbo_id: str | None, sync_token: str | None, content_current: bool = True) -> None:
    """QBO did what we asked (`sent_op` was derived from the timecard at send time).

    `content_current` False: a replayed create may hold older content than we have now."""
    _release(row)
    changed = _changed_since_claim(row, claimed)
    row.attempts = 0
    row.error_kind = row.last_error = row.last_error_code = None
    if sent_op == "delete":
        row.qbo_id = row.qbo_sync_token = row.request_id = None
        row.synced_version = None
        row.fingerprint = None
    else:
        row.qbo_id = qbo_id
        row.qbo_sync_token = sync_token
        row.synced_version = sent_version if content_current else None
        row.synced_at = now
    row.timecard_version = max(row.timecard_version or 0, sent_version)
    if not changed and content_current:
        row.operation = "none"
        row.state = "synced"
        return
    if not changed:
        row.operation = sent_op
    re_evaluate(row, now)


def settle_failure(row: Row, claimed: Claimed, *, sent_op: str, sent_version: int, now: datetime, kind: str,
                   message: str, code: str | None) -> str:
    """Apply the failure policy; returns the row's new state."""
    _release(row)
    row.last_error = message[:2000]
    row.last_error_code = (code or "")[:30] or None
    if _changed_since_claim(row, claimed) and kind != policy.WAIT:
        re_evaluate(row, now)  # new content arrived: try that, from a fresh attempt count
        row.last_error = message[:2000]
        return row.state
    row.operation = sent_op
    row.timecard_version = max(row.timecard_version or 0, sent_version)
    if kind == policy.WAIT:
        row.state = "pending"
        row.error_kind = policy.WAIT
        row.next_attempt_at = now
        return row.state
    row.error_kind = kind
    if kind in (policy.VALIDATION, policy.MAPPING):
        row.state = "failed"
        return row.state
    row.attempts = (row.attempts or 0) + 1
    retry_at = policy.next_retry(row.attempts, now)
    if retry_at is None:
        row.state = "dead"
    else:
        row.state = "failed"
        row.next_attempt_at = retry_at
    return row.state


def requeue(row: Row, now: datetime) -> bool:
    """Sync Now / mapping change / dead-letter requeue: try a failed or dead row again, from zero."""
    if row.state not in ("failed", "dead"):
        return False
    row.state = "pending"
    row.attempts = 0
    row.next_attempt_at = now
    row.error_kind = None
    return True
