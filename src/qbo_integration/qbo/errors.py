"""One error family for everything QBO answers, each error carrying the action it calls for.

QBO sends faults in three shapes (qbo-wire.md): the normal `{"Fault": {"Error": [...]}}`, the
gateway's lower-case `{"fault": {"error": [...]}}`, and XML `<Fault><Error code=..>` even when JSON
was asked for. OAuth endpoints answer `{"error": "invalid_grant"}`. faults.py reads all of them; they
are classified here, once, into an `ErrorAction` (the Airbyte `ErrorResolution` idea).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import httpx

from .faults import FaultItem, ParsedFault, parse_fault, parse_retry_after


class ErrorAction(StrEnum):
    RETRY = "retry"  # network, timeout, 5xx, 10000: try again (now, then on the job schedule)
    RATE_LIMITED = "rate_limited"  # 429 / 3001 / ThrottleExceeded: wait `retry_after`
    REFRESH = "refresh"  # 401 / 3200: refresh the access token once, retry
    STALE = "stale"  # 5010: re-read the SyncToken, re-apply, retry once
    NOT_FOUND = "not_found"
    VALIDATION = "validation"  # a human must fix data or mapping; not retried
    CONNECTION_LOST = "connection_lost"  # invalid_grant: the company must reconnect
    BREAKER_OPEN = "breaker_open"  # our own circuit breaker refused the call


#: Actions that mean "QBO (or the road to it) is unwell": they count towards opening the breaker.
#: A 429 is not among them: it is QBO pacing us, answered by waiting (http.py), not by opening.
BREAKER_ACTIONS = frozenset({ErrorAction.RETRY})
#: Actions a job queue should schedule again.
RETRYABLE_ACTIONS = frozenset({ErrorAction.RETRY, ErrorAction.RATE_LIMITED, ErrorAction.BREAKER_OPEN})


class QboError(Exception):
    """Base of every error raised by the QBO client. Never carries a token or secret."""

    default_action = ErrorAction.RETRY

    def __init__(
        self,
        message: str,
        *,
        action: ErrorAction | None = None,
        code: str | None = None,
        detail: str | None = None,
        element: str | None = None,
        intuit_tid: str | None = None,
        retry_after: float | None = None,
        status: int | None = None,
        fault_type: str | None = None,
        errors: tuple[FaultItem, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.action = action or self.default_action
        self.code = code
        self.detail = detail
        self.element = element
        self.intuit_tid = intuit_tid
        self.retry_after = retry_after
        self.status = status
        self.fault_type = fault_type
        self.errors = errors
        # Could QBO have applied the request this error ends? The request loop sets it from its
        # attempts: False when none was sent or every answer was a refusal (4xx, 429); True when
        # one timed out, lost its answer or got a 5xx. True (the safe guess) for errors built elsewhere.
        self.may_have_landed = True

    @property
    def retryable(self) -> bool:
        return self.action in RETRYABLE_ACTIONS

    @property
    def counts_for_breaker(self) -> bool:
        return self.action in BREAKER_ACTIONS

    def __str__(self) -> str:
        parts = [f"[{self.action}]"]
        if self.status:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(f"code {self.code}")
        parts.append(self.message)
        if self.detail and self.detail != self.message:
            parts.append(f"- {self.detail}")
        if self.element:
            parts.append(f"(element {self.element})")
        if self.retry_after is not None:
            parts.append(f"(retry after {self.retry_after:.0f}s)")
        if self.intuit_tid:
            parts.append(f"(intuit_tid {self.intuit_tid})")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": str(self.action),
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "detail": self.detail,
            "element": self.element,
            "intuit_tid": self.intuit_tid,
            "retry_after": self.retry_after,
        }


class TransientError(QboError):
    default_action = ErrorAction.RETRY


class RateLimitedError(QboError):
    default_action = ErrorAction.RATE_LIMITED


class LocalRateLimitedError(RateLimitedError):
    """Our own shared limiter refused to wait longer (budget used up, QBO asked us to pause, or no
    in-flight slot). QBO was not asked, so it does not count towards the circuit breaker."""

    @property
    def counts_for_breaker(self) -> bool:
        return False


class TokenExpiredError(QboError):
    default_action = ErrorAction.REFRESH


class StaleObjectError(QboError):
    default_action = ErrorAction.STALE


class NotFoundError(QboError):
    default_action = ErrorAction.NOT_FOUND


class ValidationError(QboError):
    default_action = ErrorAction.VALIDATION


class ConnectionLostError(QboError):
    default_action = ErrorAction.CONNECTION_LOST


class BreakerOpenError(QboError):
    default_action = ErrorAction.BREAKER_OPEN


_CLASS_BY_ACTION: dict[ErrorAction, type[QboError]] = {
    ErrorAction.RETRY: TransientError,
    ErrorAction.RATE_LIMITED: RateLimitedError,
    ErrorAction.REFRESH: TokenExpiredError,
    ErrorAction.STALE: StaleObjectError,
    ErrorAction.NOT_FOUND: NotFoundError,
    ErrorAction.VALIDATION: ValidationError,
    ErrorAction.CONNECTION_LOST: ConnectionLostError,
    ErrorAction.BREAKER_OPEN: BreakerOpenError,
}


def make_error(action: ErrorAction, message: str, **kw: Any) -> QboError:
    return _CLASS_BY_ACTION[action](message, action=action, **kw)


# OAuth errors that no retry will fix.
_VALIDATION_OAUTH = {
    "invalid_client",
    "unauthorized_client",
    "invalid_request",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
}


def classify(status: int | None, fault: ParsedFault | None) -> ErrorAction:
    """The one decision table (qbo-wire.md, 'Errors')."""
    fault = fault or ParsedFault()
    if fault.oauth_error:
        if fault.oauth_error == "invalid_grant":
            return ErrorAction.CONNECTION_LOST
        if status is not None and status >= 500:
            return ErrorAction.RETRY
        if status == 429:
            return ErrorAction.RATE_LIMITED
        if fault.oauth_error in _VALIDATION_OAUTH:
            return ErrorAction.VALIDATION
    codes = {i.code for i in fault.items if i.code}
    text = " ".join(f"{i.message or ''} {i.detail or ''}" for i in fault.items)
    ftype = (fault.fault_type or "").lower()
    if status == 429 or "3001" in codes or "ThrottleExceeded" in text:
        return ErrorAction.RATE_LIMITED
    if status == 401 or "3200" in codes:
        return ErrorAction.REFRESH
    if "account period closed" in text.lower():
        # The company's closing date refuses it (reported as 6210, and also seen with code 5010, which
        # would otherwise read as a stale SyncToken): no retry or re-read changes that.
        return ErrorAction.VALIDATION
    if "5010" in codes:
        return ErrorAction.STALE
    if status is not None and (status >= 500 or status == 408):
        return ErrorAction.RETRY
    if "10000" in codes or ftype == "systemfault":
        return ErrorAction.RETRY
    if status == 404:
        return ErrorAction.NOT_FOUND
    return ErrorAction.VALIDATION


def error_from_fault(
    fault: ParsedFault | None,
    *,
    status: int | None = None,
    intuit_tid: str | None = None,
    retry_after: float | None = None,
    default_throttle_wait: float = 60.0,
    fallback_message: str | None = None,
) -> QboError:
    action = classify(status, fault)
    fault = fault or ParsedFault()
    first = fault.items[0] if fault.items else FaultItem()
    if fault.oauth_error:
        message = f"OAuth error {fault.oauth_error}"
        detail = fault.oauth_description
        code = fault.oauth_error
    else:
        message = first.message or fallback_message or (f"HTTP {status}" if status else "QBO error")
        detail = first.detail
        code = first.code  # type: ignore[assignment]
    if action == ErrorAction.RATE_LIMITED and retry_after is None:
        retry_after = default_throttle_wait
    return make_error(
        action,
        message,
        code=code,
        detail=detail,
        element=first.element,
        intuit_tid=intuit_tid,
        retry_after=retry_after,
        status=status,
        fault_type=fault.fault_type,
        errors=fault.items,
    )


def error_from_response(response: httpx.Response, *, default_throttle_wait: float = 60.0) -> QboError:
    """Classify a non-2xx answer (any of the three fault shapes, or none)."""
    fault = parse_fault(response.content)
    return error_from_fault(
        fault,
        status=response.status_code,
        intuit_tid=response.headers.get("intuit_tid"),
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        default_throttle_wait=default_throttle_wait,
        fallback_message=response.reason_phrase or None,
    )


def error_from_exception(exc: BaseException) -> QboError:
    """Network trouble: timeouts, refused connections, broken streams. Always RETRY."""
    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "network error"
    return TransientError(f"{kind}: {type(exc).__name__}")
