"""The outbox's rules: what a row wants and when it is due, the snapshot a job claims, the ledger entry it
writes before sending, and the changes a row goes through in memory. No SQL: outbox_repository.py reads,
locks and writes the rows.

A row says what QBO should hold for a timecard (`operation` + `timecard_version`) and how far we
got (`state`, `qbo_id`, `synced_version`). Intake, the sweep and Sync Now only *want* things
(`want`); sync jobs *claim* due rows (`outbox_repository.claim_due`) and *settle* them (outcome.py,
writeback.py). A row changed while in flight is re-evaluated when it settles, so an edit that arrives
during a send is never lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from qbo_integration.core_platform.views import CompanyView, TimecardView
from qbo_integration.sync import lifecycle, policy
from qbo_integration.sync.models import TimecardSyncRecord as Row
from qbo_integration.sync.states import Op, State, Wanted


def txn_date(company: CompanyView, timecard: TimecardView) -> date:
    """The QBO TxnDate: the clock-in date in the company's timezone."""
    return timecard.clock_in.astimezone(company.zone).date()


def desire_of(company: CompanyView, timecard: TimecardView | None, start_date: date | None) -> Wanted:
    if timecard is None or timecard.status != "approved" or timecard.company_id != company.id:
        return Wanted.ABSENT
    if start_date is not None and txn_date(company, timecard) < start_date:
        return Wanted.SKIP
    return Wanted.PRESENT


def want_of(desire: Wanted, version: int, held: bool, fingerprint: str | None = None) -> lifecycle.Want | None:
    """What Core wants in QBO. A timecard dated before the sync start date is left as QBO has it."""
    if desire is Wanted.PRESENT or (desire is Wanted.SKIP and held):
        return lifecycle.Want(version, fingerprint)
    return None


def held_of(r: Row | Claimed) -> lifecycle.Held | None:
    if isinstance(r, Claimed):
        qbo_id, token, version, fp = r.qbo_id, r.sync_token, r.synced_version, r.fingerprint
    else:
        qbo_id, token, version, fp = r.qbo_id, r.qbo_sync_token, r.synced_version, r.fingerprint
    return lifecycle.Held(qbo_id, token, version, fp) if qbo_id else None


def outstanding_of(r: Row | Claimed) -> lifecycle.Outstanding | None:
    if not r.pending_op:
        return None
    return lifecycle.Outstanding(r.pending_op, r.pending_request_id or "", r.pending_fingerprint)


def decide_row(row: Row, version: int | None = None, fingerprint: str | None = None) -> str:
    """The row's next operation from its own facts (Core's wish as last recorded on it)."""
    v = (row.timecard_version or 0) if version is None else version
    return str(lifecycle.decide(want_of(Wanted(row.wanted or "present"), v, row.qbo_id is not None, fingerprint),
                                held_of(row), outstanding_of(row)))


def due_at(row: Row, at: datetime) -> datetime:
    """A row with an outstanding request is not looked up before the request has surely finished."""
    if row.pending_op and row.pending_since is not None:
        return max(at, row.pending_since + policy.settle_after())
    return at


def operation_for(row: Row, desire: Wanted, version: int) -> str:
    row.wanted = desire.value
    return decide_row(row, version)


def apply_op(row: Row, op: str, version: int, now: datetime) -> None:
    row.operation = op
    row.timecard_version = max(version, row.timecard_version or 0)
    if row.state == State.IN_FLIGHT:
        return  # the job's write-back re-evaluates when it reports back
    if op == Op.NONE:
        row.state = State.SYNCED
        row.error_kind = row.last_error = row.last_error_code = None
        return
    row.state = State.PENDING
    row.attempts = 0
    row.next_attempt_at = due_at(row, now)
    row.error_kind = row.last_error = row.last_error_code = None


def want(row: Row, desire: Wanted, version: int, now: datetime) -> bool:
    """Record what QBO should hold. True when that changed (a job has work); duplicates change nothing."""
    before = row.wanted
    op = operation_for(row, desire, version)
    if op == row.operation and version <= (row.timecard_version or 0) and row.wanted == before:
        return False
    apply_op(row, op, version, now)
    return True


@dataclass(frozen=True)
class Claimed:
    """What a job took: a snapshot of the row at claim time, and the token fencing its write-back."""

    id: uuid.UUID
    timecard_id: uuid.UUID
    operation: str
    version: int
    qbo_id: str | None
    sync_token: str | None
    synced_version: int | None
    fingerprint: str | None
    attempts: int
    approved_at: datetime | None
    claim_token: uuid.UUID | None = None
    pending_op: str | None = None
    pending_request_id: str | None = None
    pending_fingerprint: str | None = None
    pending_version: int | None = None
    pending_body: dict[str, Any] | None = None
    realm_id: str | None = None  # the realm its QBO id and ledger entry belong to


def claimed_of(r: Any) -> Claimed:
    """From a Row, or a result row of its columns."""
    return Claimed(r.id, r.timecard_id, r.operation, r.timecard_version, r.qbo_id, r.qbo_sync_token,
                   r.synced_version, r.fingerprint, r.attempts, r.approved_at, r.claim_token, r.pending_op,
                   r.pending_request_id, r.pending_fingerprint, r.pending_version, r.pending_body, r.realm_id)


@dataclass(frozen=True)
class Entry:
    """A ledger entry: the request about to be sent for one row (a batch member: its own part)."""

    op: str
    request_id: str  # a batch member's id ("{key}:{i}:{n}"): the batch's requestid is derived from them
    fingerprint: str | None
    version: int
    body: dict[str, Any] | None


def clear_outstanding(row: Row) -> None:
    row.pending_op = row.pending_request_id = row.pending_fingerprint = None
    row.pending_version = None
    row.pending_body = None
    row.pending_since = row.pending_unknown_at = None


def other_realm(claimed: Claimed, realm_id: str | None) -> bool:
    """The row's QBO id or ledger entry came from another realm than the one connected: nothing of it may
    be sent there (an update or delete would name another company's record)."""
    return bool(claimed.realm_id and realm_id and claimed.realm_id != realm_id
                and (claimed.qbo_id or claimed.pending_op))


def requeue(row: Row, now: datetime) -> bool:
    """Sync Now / mapping change / dead-letter requeue: try a failed or dead row again, from zero."""
    if row.state not in (State.FAILED, State.DEAD):
        return False
    row.state = State.PENDING
    row.attempts = 0
    row.next_attempt_at = due_at(row, now)
    row.error_kind = None
    return True
