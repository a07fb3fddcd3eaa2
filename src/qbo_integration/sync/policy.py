"""The rules of the outbox, as pure functions: retry schedule, request ids, failure classes.

Nothing here touches the database or QBO, so every rule is tested on its own.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from qbo_integration.qbo import QboError, Remedy, RetryPolicy
from qbo_integration.qbo.resolution import refusal_advice
from qbo_integration.sync.states import Kind

#: design.md "Reliability rules": 1 min, 5 min, 15 min, 1 h, 4 h; after the 5th failed retry the row is dead.
RETRIES = RetryPolicy.fixed(60, 300, 900, 3600, 14400)
#: A request whose outcome was lost is looked up in QBO no sooner than this after it was sent (see
#: settle_after): soon, so that a create which landed is adopted quickly.
SETTLE_AFTER = timedelta(seconds=30)
#: A round holds its claimed rows under a lease this long, renewed every LEASE_RENEW while it is alive
#: (sync/lease.py). It sends a write only while its lease is valid (qbo.writes_sent_by); a row whose lease
#: lapsed (its worker died or stalled) is claimed again at once. Longer than a renewal's worst delay on a
#: loaded machine, short enough to count in the settle deadline (docs/internal-contracts.md, "Recovery").
LEASE = timedelta(seconds=30)
LEASE_RENEW = timedelta(seconds=10)
#: QBO's own request timeout: it may go on applying a request whose caller gave up, never longer.
QBO_REQUEST_TIMEOUT = timedelta(seconds=120)
#: Clock skew between our processes and network time on top of QBO_REQUEST_TIMEOUT.
SETTLE_MARGIN = timedelta(seconds=10)


def may_apply_for() -> timedelta:
    """How long after its last send QBO may still apply a request (outcome.unknown_for_sure_at)."""
    return QBO_REQUEST_TIMEOUT + SETTLE_MARGIN


# last_error_code of a timecard the company's own books refuse (mapping/books.py): a VALIDATION failure that
# re-reading the preferences may lift (sync.service.requeue_reopened).
BOOKS_CLOSED = "books_closed"  # dated on or before QuickBooks' closing date
CLASS_TRACKING_OFF = "class_tracking_off"  # a ClassRef while QuickBooks' class tracking is off
LOCATION_TRACKING_OFF = "location_tracking_off"  # a DepartmentRef while QuickBooks' location tracking is off
BOOKS_CODES = (BOOKS_CLOSED, CLASS_TRACKING_OFF, LOCATION_TRACKING_OFF)
# last_error_code of a row whose QBO id belongs to another realm than the connected one (outbox.other_realm)
OTHER_REALM = "other_realm"


def other_realm_message(row_realm: str, connected: str) -> str:
    return (f"This timecard's QuickBooks record belongs to another QuickBooks company (realm {row_realm}) than the "
            f"one connected now (realm {connected}): nothing is sent. Switching QuickBooks company in the console "
            "(Connect) starts this company's sync afresh")

_NAMESPACE = uuid.UUID("6f0b7c1e-4a9d-5f2e-8b3c-0d1e2f3a4b5c")




def new_request_id() -> str:
    """A fresh id for every write sent (36 chars: fits a batch item). Inside one call the client repeats
    it for an attempt whose outcome is unknown; it is never derived again. QBO answers a repeated id with
    its stored answer, refusals included, so a refused id (closed books, validation, a stale SyncToken)
    reused in a later round would be refused for ever. A create's id is recorded in the ledger before the
    call and only read back from there; an update or delete needs none to be safe across rounds: it names
    the record and its SyncToken, so a resend of one that landed is answered "stale" (re-read, re-applied)
    or "not found" (already gone)."""
    return str(uuid.uuid4())


def fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def settle_after() -> timedelta:
    """Never longer than the first retry delay (a compressed schedule compresses this too)."""
    first = RETRIES.delay(1)
    return min(SETTLE_AFTER, timedelta(seconds=first)) if first is not None else SETTLE_AFTER


def unknown_since(error: QboError | None, now: datetime) -> datetime:
    """The last moment a request whose outcome is unknown went out: its call's last attempt (the client
    says when), never later than `now` (the write-back's time, when it does not)."""
    sent = error.last_sent_at if error is not None else None
    return min(now, datetime.fromtimestamp(sent, UTC)) if sent is not None else now


def next_retry(attempts: int, now: datetime) -> datetime | None:
    """When to try again after the `attempts`-th failed attempt; None when the row is dead."""
    delay = RETRIES.delay(attempts)
    return None if delay is None else now + timedelta(seconds=delay)


#: What each remedy of QBO's answer makes of the row's failure (its retry policy).
_KIND_OF: dict[Remedy, Kind] = {
    Remedy.RETRY: Kind.TRANSIENT,
    Remedy.REFRESH: Kind.TRANSIENT,  # the client already refreshed once: the next round tries again
    Remedy.STALE: Kind.TRANSIENT,
    Remedy.GIVE_UP: Kind.VALIDATION,
    Remedy.CLOSED_BOOKS: Kind.VALIDATION,
    Remedy.NOT_FOUND: Kind.VALIDATION,
    Remedy.CONNECTION_LOST: Kind.WAIT,
    Remedy.BREAKER_OPEN: Kind.WAIT,
    Remedy.WAIT: Kind.WAIT,  # our limiter or QBO said "not now" (a 429, or a 3001 inside a batch answer): pacing
}


def failure_kind(error: QboError) -> Kind:
    return _KIND_OF[error.resolution.remedy]


def not_before(error: QboError | None, now: datetime) -> datetime | None:
    """A throttled row is not tried again before the pause ends (its job is scheduled for then)."""
    if error is None or error.resolution.remedy is not Remedy.WAIT:
        return None
    return now + timedelta(seconds=float(RETRIES.throttle_wait(error.retry_after)))


def admin_message(error: QboError) -> str:
    """QBO's own words plus what to do about them (no tokens: QboError never carries one)."""
    parts = [error.message or "QuickBooks refused the request"]
    if error.detail and error.detail != error.message:
        parts.append(error.detail)
    if error.element:
        parts.append(f"(field: {error.element})")
    hint = refusal_advice(error.code)
    if hint:
        parts.append(hint)
    if error.intuit_tid:
        parts.append(f"[intuit_tid {error.intuit_tid}]")
    return " ".join(parts)[:2000]
