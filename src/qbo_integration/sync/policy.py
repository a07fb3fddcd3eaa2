"""The rules of the outbox, as pure functions: retry schedule, request ids, failure classes.

Nothing here touches the database or QBO, so every rule is tested on its own.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from qbo_integration.qbo import ErrorAction, QboError
from qbo_integration.sync.states import Kind

#: design.md "Reliability rules": after the 5th failed retry the row is dead.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
)
#: A request whose outcome was lost is looked up in QBO no sooner than this after it was sent (see
#: settle_after): soon, so that a create which landed is adopted quickly.
SETTLE_AFTER = timedelta(seconds=30)
#: A round sends the requests it recorded in the ledger only this long after recording them; a write
#: still waiting then (for the limiter, or in a stalled worker) is not sent (qbo.writes_sent_by). At
#: least QBO's budget window (a minute), or a round waiting for budget gives up its sends.
SEND_WINDOW = timedelta(minutes=5)
#: QBO may still apply a request this long after it was sent: it goes on with a request whose caller
#: gave up (our timeout is 120 s). A look-up that finds nothing sooner may simply be early, so the
#: ledger entry stays until then (outcome.unknown_for_sure_at).
SETTLE_QUIET = timedelta(minutes=5)
#: An in_flight row whose claim is older than this belongs to a worker that died; it is claimed again.
RECLAIM_AFTER = timedelta(minutes=15)

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
    return min(SETTLE_AFTER, RETRY_SCHEDULE[0]) if RETRY_SCHEDULE else SETTLE_AFTER


def next_retry(attempts: int, now: datetime) -> datetime | None:
    """When to try again after the `attempts`-th failed attempt; None when the row is dead."""
    if attempts < 1:
        return now
    if attempts > len(RETRY_SCHEDULE):
        return None
    return now + RETRY_SCHEDULE[attempts - 1]


def failure_kind(error: QboError) -> Kind:
    if error.action in (ErrorAction.VALIDATION, ErrorAction.NOT_FOUND):
        return Kind.VALIDATION
    if error.action in (ErrorAction.CONNECTION_LOST, ErrorAction.BREAKER_OPEN):
        return Kind.WAIT
    if error.action == ErrorAction.RATE_LIMITED:
        return Kind.WAIT  # our limiter or QBO said "not now" (a 429, or a 3001 inside a batch answer): pacing
    return Kind.TRANSIENT


#: How long a throttled row waits when QBO named no Retry-After (Intuit's advice after a 429).
DEFAULT_THROTTLE_WAIT = timedelta(seconds=60)


def not_before(error: QboError | None, now: datetime) -> datetime | None:
    """A throttled row is not tried again before the pause ends (its job is scheduled for then)."""
    if error is None or error.action != ErrorAction.RATE_LIMITED:
        return None
    wait = getattr(error, "retry_after", None)
    return now + (timedelta(seconds=float(wait)) if wait is not None else DEFAULT_THROTTLE_WAIT)


_HINTS = {
    "610": "A referenced employee, customer, item or class is inactive or deleted in QuickBooks: "
    "re-activate it there or map this CrewFlow record to another one.",
    "2500": "A referenced QuickBooks record does not exist: check the employee/customer/item mapping.",
    "2020": "A field QuickBooks requires is missing: complete the mapping for this timecard.",
    "6000": "QuickBooks refused the time entry: correct the timecard or the mapping, then Sync Now.",
    "2050": "A text field is too long for QuickBooks: shorten the timecard notes, then Sync Now.",
}


def admin_message(error: QboError) -> str:
    """QBO's own words plus what to do about them (no tokens: QboError never carries one)."""
    parts = [error.message or "QuickBooks refused the request"]
    if error.detail and error.detail != error.message:
        parts.append(error.detail)
    if error.element:
        parts.append(f"(field: {error.element})")
    hint = _HINTS.get(str(error.code or ""))
    if hint:
        parts.append(hint)
    if error.intuit_tid:
        parts.append(f"[intuit_tid {error.intuit_tid}]")
    return " ".join(parts)[:2000]
