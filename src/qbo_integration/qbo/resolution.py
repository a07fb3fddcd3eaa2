"""What each QuickBooks answer means, decided once: a table from what QBO said to a `Resolution`.

The decisions are data (Airbyte CDK's `DEFAULT_ERROR_MAPPING`): a caller that reads an answer
differently merges a dict, `RESOLUTIONS | {Code("610"): GONE}`, and adds no branch. One answer can
match several keys (a 400 carrying code 5010 and the words "Account Period Closed"), so the first key
in the table's order wins; a merge replaces a key where it stands and puts a new key after the others.
An exception is looked up by its class, then its base classes: the most specific key wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property

import httpx

from .faults import ParsedFault


class Remedy(StrEnum):
    """What to do about the answer."""

    RETRY = "retry"  # try again: at once with backoff, then on the job's schedule
    WAIT = "wait"  # QBO (or our limiter) paces us: wait `retry_after`, spend no attempt
    REFRESH = "refresh"  # refresh the access token once, then try again
    GIVE_UP = "give_up"  # QBO refused the data: a person must fix it; not retried
    NOT_FOUND = "not_found"
    STALE = "stale"  # re-read the SyncToken, re-apply, try once more
    CLOSED_BOOKS = "closed_books"  # dated in a period the company closed: no retry changes that
    CONNECTION_LOST = "connection_lost"  # the company must reconnect
    BREAKER_OPEN = "breaker_open"  # our circuit breaker refused the call


class Cause(StrEnum):
    """What happened, in a few words."""

    THROTTLED = "throttled"  # 429 / 3001 / ThrottleExceeded, or our own limiter's "not now"
    TOKEN_EXPIRED = "access token expired"  # 401 / 3200
    SERVER_ERROR = "server error"  # 5xx, 10000, a SystemFault
    TIMEOUT = "timeout"  # 408, or no answer in time
    NETWORK_ERROR = "network error"
    FAILED = "temporary failure"  # our side could not finish the call (a lock, an unreadable 2xx)
    STALE = "stale SyncToken"  # 5010
    BOOKS_CLOSED = "account period closed"  # 6210 (also seen as 6200 and 5010): the words decide
    OBJECT_NOT_FOUND = "object not found"  # 610: this record, or one it names, is gone or inactive
    NOT_FOUND = "not found"  # 404
    REFUSED = "refused"  # any other refusal of the request
    CONNECTION_LOST = "connection lost"  # invalid_grant: the grant was revoked or expired
    BREAKER_OPEN = "breaker open"


class ErrorAction(StrEnum):
    """The coarse action each `QboError` carries (`error.action`); a `Remedy` says more."""

    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    REFRESH = "refresh"
    STALE = "stale"
    NOT_FOUND = "not_found"
    VALIDATION = "validation"
    CONNECTION_LOST = "connection_lost"
    BREAKER_OPEN = "breaker_open"


_ACTION_OF: dict[Remedy, ErrorAction] = {
    Remedy.RETRY: ErrorAction.RETRY,
    Remedy.WAIT: ErrorAction.RATE_LIMITED,
    Remedy.REFRESH: ErrorAction.REFRESH,
    Remedy.GIVE_UP: ErrorAction.VALIDATION,
    Remedy.NOT_FOUND: ErrorAction.NOT_FOUND,
    Remedy.STALE: ErrorAction.STALE,
    Remedy.CLOSED_BOOKS: ErrorAction.VALIDATION,
    Remedy.CONNECTION_LOST: ErrorAction.CONNECTION_LOST,
    Remedy.BREAKER_OPEN: ErrorAction.BREAKER_OPEN,
}

#: Actions that mean "QBO (or the road to it) is unwell": they count towards opening the breaker.
#: A 429 is not among them: it is QBO pacing us, answered by waiting (http.py), not by opening.
BREAKER_ACTIONS = frozenset({ErrorAction.RETRY})
#: Actions a job queue should schedule again.
RETRYABLE_ACTIONS = frozenset({ErrorAction.RETRY, ErrorAction.RATE_LIMITED, ErrorAction.BREAKER_OPEN})


@dataclass(frozen=True)
class Resolution:
    remedy: Remedy
    cause: Cause
    message: str  # for a person: what it means and what to do about it
    #: Could QBO have applied the request? In the table: whether one answer like this says so (a 5xx
    #: always may). On an error (`QboError.resolution`): whether any attempt of the call may have.
    may_have_landed: bool = False

    @property
    def action(self) -> ErrorAction:
        return _ACTION_OF[self.remedy]

    @property
    def retryable(self) -> bool:
        return self.action in RETRYABLE_ACTIONS

    @property
    def counts_for_breaker(self) -> bool:
        return self.action in BREAKER_ACTIONS


@dataclass(frozen=True)
class Answer:
    """What QBO (or the road to it) said, as the table reads it."""

    status: int | None = None
    fault: ParsedFault = field(default_factory=ParsedFault)
    exception: type[BaseException] | None = None

    @cached_property
    def codes(self) -> frozenset[str]:
        return frozenset(i.code for i in self.fault.items if i.code)

    @cached_property
    def text(self) -> str:
        return " ".join(f"{i.message or ''} {i.detail or ''}" for i in self.fault.items).lower()


# ------------------------------------------------------------------------------ keys of the table


@dataclass(frozen=True)
class Status:
    """An HTTP status, or the range `low`..`high`."""

    low: int
    high: int | None = None

    def matches(self, answer: Answer) -> bool:
        return answer.status is not None and self.low <= answer.status <= (self.high or self.low)


@dataclass(frozen=True)
class Code:
    """A fault code on any of the fault's errors."""

    code: str

    def matches(self, answer: Answer) -> bool:
        return self.code in answer.codes


@dataclass(frozen=True)
class Phrase:
    """Words in any error's Message or Detail, in any case."""

    words: str

    def matches(self, answer: Answer) -> bool:
        return self.words.lower() in answer.text


@dataclass(frozen=True)
class FaultType:
    name: str

    def matches(self, answer: Answer) -> bool:
        return (answer.fault.fault_type or "").lower() == self.name.lower()


@dataclass(frozen=True)
class OAuth:
    """An OAuth endpoint's `{"error": ...}`: this one (None: any), with this status (None: any)."""

    error: str | None = None
    status: Status | None = None

    def matches(self, answer: Answer) -> bool:
        found = answer.fault.oauth_error
        return (found is not None and (self.error is None or self.error == found)
                and (self.status is None or self.status.matches(answer)))


Key = Status | Code | Phrase | FaultType | OAuth | type[BaseException]
Table = Mapping[Key, Resolution]

# ------------------------------------------------------------------------------ the resolutions

_RETRIED = "it is tried again automatically."
THROTTLED = Resolution(Remedy.WAIT, Cause.THROTTLED,
                       "QuickBooks asked us to slow down: sending waits for the pause, then goes on by itself.")
TOKEN_EXPIRED = Resolution(Remedy.REFRESH, Cause.TOKEN_EXPIRED,
                           "The QuickBooks access token expired: it is refreshed and the request sent again.")
SERVER_ERROR = Resolution(Remedy.RETRY, Cause.SERVER_ERROR, f"QuickBooks failed to answer: {_RETRIED}")
TIMEOUT = Resolution(Remedy.RETRY, Cause.TIMEOUT, f"QuickBooks did not answer in time: {_RETRIED}")
NETWORK_ERROR = Resolution(Remedy.RETRY, Cause.NETWORK_ERROR, f"QuickBooks could not be reached: {_RETRIED}")
ANSWER_LOST = Resolution(Remedy.RETRY, Cause.NETWORK_ERROR, f"The connection to QuickBooks broke: {_RETRIED}",
                         may_have_landed=True)
FAILED = Resolution(Remedy.RETRY, Cause.FAILED, f"The call to QuickBooks could not be finished: {_RETRIED}")
STALE = Resolution(Remedy.STALE, Cause.STALE, "The record changed in QuickBooks meanwhile: it is read again and "
                   "the change applied to the latest version.")
BOOKS_CLOSED = Resolution(Remedy.CLOSED_BOOKS, Cause.BOOKS_CLOSED,
                          "The date falls in a period closed in QuickBooks: reopen it there or move the closing "
                          "date, then Sync Now.")
OBJECT_NOT_FOUND = Resolution(Remedy.GIVE_UP, Cause.OBJECT_NOT_FOUND,
                              "A referenced employee, customer, item or class is inactive or deleted in QuickBooks: "
                              "re-activate it there or map this CrewFlow record to another one.")
#: A read by id that finds nothing: the record itself is gone (deleted in QuickBooks).
GONE = Resolution(Remedy.NOT_FOUND, Cause.OBJECT_NOT_FOUND, "The record is no longer in QuickBooks.")
NOT_FOUND = Resolution(Remedy.NOT_FOUND, Cause.NOT_FOUND, "QuickBooks has no such record.")
REFUSED = Resolution(Remedy.GIVE_UP, Cause.REFUSED,
                     "QuickBooks refused the request: correct the timecard or the mapping, then Sync Now.")
APP_REFUSED = Resolution(Remedy.GIVE_UP, Cause.REFUSED, "QuickBooks refused the app's OAuth request: check the "
                         "app's client id, secret, redirect URI and scope.")
CONNECTION_LOST = Resolution(Remedy.CONNECTION_LOST, Cause.CONNECTION_LOST,
                             "The QuickBooks connection was revoked or has expired: an admin must reconnect.")
BREAKER_OPEN = Resolution(Remedy.BREAKER_OPEN, Cause.BREAKER_OPEN,
                          "QuickBooks failed repeatedly: calls for this company pause, then resume by themselves.")


def _refused(message: str) -> Resolution:
    return replace(REFUSED, message=message)


#: The one decision table (qbo-wire.md, 'Errors'), in the order its keys are tried.
RESOLUTIONS: dict[Key, Resolution] = {
    OAuth("invalid_grant"): CONNECTION_LOST,
    OAuth(status=Status(500, 599)): SERVER_ERROR,
    Status(429): THROTTLED,
    Code("3001"): THROTTLED,
    Phrase("ThrottleExceeded"): THROTTLED,
    # OAuth errors that no retry will fix (before 401: an invalid_client comes as a 401)
    OAuth("invalid_client"): APP_REFUSED,
    OAuth("unauthorized_client"): APP_REFUSED,
    OAuth("invalid_request"): APP_REFUSED,
    OAuth("unsupported_grant_type"): APP_REFUSED,
    OAuth("invalid_scope"): APP_REFUSED,
    OAuth("access_denied"): APP_REFUSED,
    Status(401): TOKEN_EXPIRED,
    Code("3200"): TOKEN_EXPIRED,
    # Closed books are reported as 6210 and also seen with 5010, which would otherwise read as a stale
    # SyncToken: the words come first. By code alone only after a 5xx or a 404 had its say.
    Phrase("account period closed"): BOOKS_CLOSED,
    Code("5010"): STALE,
    Status(500, 599): SERVER_ERROR,
    Status(408): TIMEOUT,
    Code("10000"): SERVER_ERROR,
    FaultType("SystemFault"): SERVER_ERROR,
    Status(404): NOT_FOUND,
    Code("6210"): BOOKS_CLOSED,
    Code("6200"): BOOKS_CLOSED,
    Code("610"): OBJECT_NOT_FOUND,
    Code("2500"): _refused("A referenced QuickBooks record does not exist: check the employee/customer/item mapping."),
    Code("2020"): _refused("A field QuickBooks requires is missing: complete the mapping for this timecard."),
    Code("6000"): _refused("QuickBooks refused the time entry: correct the timecard or the mapping, then Sync Now."),
    Code("2050"): _refused("A text field is too long for QuickBooks: shorten the timecard notes, then Sync Now."),
    # The road to QBO. A request that never left cannot have landed; one whose answer was lost may have.
    httpx.ConnectError: NETWORK_ERROR,
    httpx.ConnectTimeout: TIMEOUT,
    httpx.PoolTimeout: TIMEOUT,
    httpx.TimeoutException: replace(TIMEOUT, may_have_landed=True),
    httpx.HTTPError: ANSWER_LOST,
}

#: When no key matches an answer (an exception always matches one: its class or a base class).
OTHERWISE = REFUSED

#: A read by id: "Object Not Found" means the record itself is gone, not one it names.
READ_BY_ID: dict[Key, Resolution] = RESOLUTIONS | {Code("610"): GONE}

#: What an error built by hand (not from an answer) means when the table says nothing more precise.
BY_ACTION: dict[ErrorAction, Resolution] = {
    ErrorAction.RETRY: FAILED,
    ErrorAction.RATE_LIMITED: THROTTLED,
    ErrorAction.REFRESH: TOKEN_EXPIRED,
    ErrorAction.STALE: STALE,
    ErrorAction.NOT_FOUND: NOT_FOUND,
    ErrorAction.VALIDATION: REFUSED,
    ErrorAction.CONNECTION_LOST: CONNECTION_LOST,
    ErrorAction.BREAKER_OPEN: BREAKER_OPEN,
}


def refusal_advice(code: str | None, table: Table = RESOLUTIONS) -> str | None:
    """What a person does about a refusal QBO named by this fault code (610, 2500, 2020, ...), from the
    table; None for a code the table does not read as a refusal of the data."""
    found = table.get(Code(str(code or "")))
    return found.message if found is not None and found.remedy is Remedy.GIVE_UP else None


def resolve(answer: Answer, table: Table = RESOLUTIONS) -> Resolution:
    """The table's resolution of `answer`: exceptions by class, anything else by the first key that matches."""
    if answer.exception is not None:
        for cls in answer.exception.__mro__:
            if cls in table:
                return table[cls]
        return ANSWER_LOST
    found = next((res for key, res in table.items() if not isinstance(key, type) and key.matches(answer)),
                 OTHERWISE)
    if answer.status is not None and answer.status >= 500 and not found.may_have_landed:
        return replace(found, may_have_landed=True)  # QBO may fail after applying the request
    return found
