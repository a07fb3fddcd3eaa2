"""A claimed outbox row after QBO answered (or did not): the fence, the facts QBO now holds, and what
the row wants next. ("Settle" means one thing: looking up an outstanding create, Op.SETTLE.) The write-back
(writeback.py) calls these on rows it locked; a row an event changed while in flight is re-evaluated here.
"""

from __future__ import annotations

from datetime import datetime

from qbo_integration.sync import policy
from qbo_integration.sync.models import TimecardSyncRecord as Row
from qbo_integration.sync.outbox import Claimed, decide_row, due_at
from qbo_integration.sync.states import Kind, Op, State


def holds_claim(row: Row, claimed: Claimed) -> bool:
    """The fence: a write-back applies only to a row still held under the token it was claimed with."""
    return row.state == State.IN_FLIGHT and row.claim_token is not None and row.claim_token == claimed.claim_token


def _release(row: Row) -> None:
    row.claimed_at = None
    row.claimed_by = None
    row.claim_token = None
    row.lease_until = None


def _changed_since_claim(row: Row, claimed: Claimed) -> bool:
    """An event changed what is wanted while the row was in flight."""
    return row.operation != claimed.operation or (row.timecard_version or 0) > claimed.version


def now_holds(row: Row, qbo_id: str | None, sync_token: str | None, version: int | None,
              fingerprint: str | None, now: datetime) -> None:
    """QBO is known to hold this record (or, with qbo_id None, nothing) for the row."""
    row.qbo_id = qbo_id
    row.qbo_sync_token = sync_token if qbo_id else None
    row.synced_version = version if qbo_id else None
    row.fingerprint = fingerprint if qbo_id else None
    if qbo_id:
        row.synced_at = now


def _release_with_wish(row: Row, claimed: Claimed, wanted: str) -> bool:
    """Release the row; unless an event changed it meanwhile, Core's wish is the one read this round.
    Returns whether it changed since the claim."""
    _release(row)
    changed = _changed_since_claim(row, claimed)
    if not changed:
        row.wanted = wanted
    return changed


def success(row: Row, claimed: Claimed, *, version: int, fingerprint: str | None, wanted: str,
                   now: datetime) -> None:
    """The round's step for this row is known to have landed (facts already updated): what next."""
    changed = _release_with_wish(row, claimed, wanted)
    row.attempts = 0
    row.error_kind = row.last_error = row.last_error_code = None
    row.timecard_version = max(row.timecard_version or 0, version)
    current = (row.timecard_version or 0) == version
    row.operation = decide_row(row, version if current else None, fingerprint if current else None)
    if row.operation == Op.NONE and not changed:
        row.state = State.SYNCED
        return
    row.state = State.PENDING  # more to do (an edit arrived, or an adopted record needs updating)
    row.next_attempt_at = due_at(row, now)


def unknown_for_sure_at(row: Row) -> datetime | None:
    """From when a look-up that finds the outstanding request's record nowhere proves it never landed.

    QBO applies a request within its own timeout of receiving it, or never: so `policy.may_apply_for()`
    after the last moment the request can have gone out. That moment is `pending_unknown_at` once the
    round that sent it reported (its last attempt) or lost its rows (its lease's end); while a round holds
    the row, the end of its lease (it sends nothing after it, qbo.writes_sent_by)."""
    last_send = row.pending_unknown_at or row.lease_until
    if last_send is None and row.pending_since is not None:  # read without its lease (waits' counts)
        last_send = row.pending_since + policy.LEASE
    return last_send + policy.may_apply_for() if last_send is not None else None


def may_still_land(row: Row, now: datetime) -> bool:
    """Is it too soon to believe a look-up that found nothing?"""
    sure = unknown_for_sure_at(row)
    return sure is not None and now < sure


def unseen(row: Row, claimed: Claimed, *, version: int, wanted: str) -> None:
    """An outstanding create is not in QBO yet, but QBO may still be executing it: the ledger entry
    stays, no attempt is spent, and the row is looked up again once that can no longer be."""
    _release_with_wish(row, claimed, wanted)
    row.timecard_version = max(row.timecard_version or 0, version)
    row.operation = decide_row(row)
    sure = unknown_for_sure_at(row)
    assert sure is not None
    row.state = State.PENDING
    row.next_attempt_at = sure


def not_found(row: Row, claimed: Claimed, *, version: int, wanted: str, now: datetime) -> None:
    """An outstanding create is not in QBO: it never landed. The attempt it belonged to failed, so the
    attempt count and the error stay; what Core wants is done next (a create under a new id)."""
    _release_with_wish(row, claimed, wanted)
    row.timecard_version = max(row.timecard_version or 0, version)
    row.operation = decide_row(row)
    if row.operation == Op.NONE:
        row.state = State.SYNCED
        row.error_kind = row.last_error = row.last_error_code = None
        return
    row.state = State.PENDING
    row.next_attempt_at = now


def failure(row: Row, claimed: Claimed, *, version: int, wanted: str, now: datetime, kind: str,
                   message: str, code: str | None, not_before: datetime | None = None,
                   free_retry_at: datetime | None = None) -> str:
    """Apply the failure policy (facts already updated); returns the row's new state. `free_retry_at`: a
    transient failure that spends no attempt is tried again then (a look-up QBO did not answer)."""
    changed = _release_with_wish(row, claimed, wanted)
    row.last_error = message[:2000]
    row.last_error_code = (code or "")[:30] or None
    row.timecard_version = max(row.timecard_version or 0, version)
    row.operation = decide_row(row)
    if changed and kind != Kind.WAIT:  # new content arrived: try that, from a fresh attempt count
        row.state = State.PENDING
        row.attempts = 0
        row.error_kind = None
        row.next_attempt_at = due_at(row, now)
        return row.state
    if kind == Kind.WAIT:
        row.state = State.PENDING
        row.error_kind = Kind.WAIT
        row.next_attempt_at = max(due_at(row, now), not_before or now)
        return row.state
    row.error_kind = kind
    if kind in (Kind.VALIDATION, Kind.MAPPING):
        row.state = State.FAILED
        return row.state
    if free_retry_at is not None:
        row.state = State.FAILED
        row.next_attempt_at = due_at(row, free_retry_at)
        return row.state
    row.attempts = (row.attempts or 0) + 1
    retry_at = policy.next_retry(row.attempts, now)
    if retry_at is None:
        row.state = State.DEAD
    else:
        row.state = State.FAILED
        row.next_attempt_at = due_at(row, retry_at)
    return row.state
