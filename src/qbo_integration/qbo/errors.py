"""One error family for everything QBO answers, each error carrying its `Resolution`.

QBO sends faults in three shapes (qbo-wire.md): the normal `{"Fault": {"Error": [...]}}`, the
gateway's lower-case `{"fault": {"error": [...]}}`, and XML `<Fault><Error code=..>` even when JSON
was asked for. OAuth endpoints answer `{"error": "invalid_grant"}`. faults.py reads all of them;
resolution.py's table decides, once, what each means; here they become errors.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx

from .faults import FaultItem, ParsedFault, parse_fault, parse_retry_after
from .resolution import (
    BY_ACTION,
    RESOLUTIONS,
    Answer,
    ErrorAction,
    Remedy,
    Resolution,
    Table,
    resolve,
)


class QboError(Exception):
    """Base of every error raised by the QBO client. Never carries a token or secret."""

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
        resolution: Resolution | None = None,
        answer: Answer | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        # an error raised by hand names its coarse action (or takes its class's); what it means is `resolution`
        self._action = action or (resolution.action if resolution else _default_action(type(self)))
        # the first fault item's code, detail and element; the whole fault; Intuit's trace id; when to ask again
        self.code, self.detail, self.element = code, detail, element
        self.status, self.fault_type, self.errors = status, fault_type, errors
        self.intuit_tid, self.retry_after = intuit_tid, retry_after
        # What QBO said, and what the table made of it (for an error raised by hand: read from its fields).
        self.answer = answer or Answer(status, ParsedFault(fault_type, errors or (FaultItem(code, message, detail),)))
        self._answered = resolution
        # Could QBO have applied the request this error ends? The request loop sets it from its
        # attempts: False when none was sent or every answer was a refusal (4xx, 429); True when
        # one timed out, lost its answer or got a 5xx. True (the safe guess) for errors built elsewhere.
        self.may_have_landed = True
        # When the call's last attempt went out (the client's clock, epoch seconds; None: none was sent):
        # QBO may go on applying it until its own timeout after that (sync's settle deadline).
        self.last_sent_at: float | None = None

    @property
    def answered(self) -> Resolution:
        """What this error's one answer means on its own (the request loop's input); callers want `resolution`."""
        if self._answered is None:
            found = resolve(self.answer, RESOLUTIONS)  # raised by hand: its action stands
            self._answered = found if found.action == self._action else BY_ACTION[self._action]
        return self._answered

    @property
    def resolution(self) -> Resolution:
        """What the call this error ends came to: the answer's resolution, with whether any attempt may have landed."""
        return replace(self.answered, may_have_landed=self.may_have_landed)

    def resolved_by(self, table: Table) -> QboError:
        """This error as `table` (the defaults merged with a caller's keys) reads it: itself where the merge
        changes nothing for its answer, else a new error of the class the table calls for, with the same
        facts (new, so `may_have_landed` starts True, as for any error built outside the request loop)."""
        found = resolve(self.answer, table)
        if found == resolve(self.answer, RESOLUTIONS):
            return self
        return error_for(found, self.message, code=self.code, detail=self.detail, element=self.element,
                         intuit_tid=self.intuit_tid, retry_after=self.retry_after, status=self.status,
                         fault_type=self.fault_type, errors=self.errors, answer=self.answer)

    @property
    def retryable(self) -> bool:
        return self.answered.retryable

    @property
    def counts_for_breaker(self) -> bool:
        return self.answered.counts_for_breaker

    def __str__(self) -> str:
        parts = [f"[{self.answered.action}]"]
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
            "action": str(self.answered.action),
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "detail": self.detail,
            "element": self.element,
            "intuit_tid": self.intuit_tid,
            "retry_after": self.retry_after,
        }


class TransientError(QboError):
    """QBO failed or could not be reached (network, timeout, 5xx, 10000): tried again, at once and then on
    the job's schedule."""


class RateLimitedError(QboError):
    """QBO paces the realm (429, 3001, ThrottleExceeded): wait `retry_after`; no attempt is spent."""


class LocalRateLimitedError(RateLimitedError):
    """Our own shared limiter refused to wait longer (budget used up, QBO asked us to pause, or no
    in-flight slot). QBO was not asked, so it does not count towards the circuit breaker."""

    @property
    def counts_for_breaker(self) -> bool:
        return False


class TokenExpiredError(QboError):
    """401 / 3200: the access token is refreshed once and the request sent again."""


class StaleObjectError(QboError):
    """5010: someone changed the record meanwhile; re-read its SyncToken, re-apply, try once more."""


class NotFoundError(QboError):
    """No such record (404; 610 on a read by id)."""


class ValidationError(QboError):
    """QBO refused the data, or the company's books refuse it: a person must fix it; not retried."""


class ConnectionLostError(QboError):
    """invalid_grant, or no tokens stored: the company must reconnect."""


class BreakerOpenError(QboError):
    """Our circuit breaker refused the call: nothing was sent."""


#: The class each action raises (and the action an error raised by hand without one takes).
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
_ACTION_OF_CLASS = {cls: action for action, cls in _CLASS_BY_ACTION.items()} | {QboError: ErrorAction.RETRY}


def _default_action(cls: type[QboError]) -> ErrorAction:
    return next(_ACTION_OF_CLASS[c] for c in cls.__mro__ if c in _ACTION_OF_CLASS)


def make_error(action: ErrorAction, message: str, **kw: Any) -> QboError:
    return _CLASS_BY_ACTION[action](message, action=action, **kw)


def error_for(resolution: Resolution, message: str, **facts: Any) -> QboError:
    """The error class `resolution` calls for."""
    return _CLASS_BY_ACTION[resolution.action](message, resolution=resolution, **facts)


def error_from_fault(
    fault: ParsedFault | None,
    *,
    status: int | None = None,
    intuit_tid: str | None = None,
    retry_after: float | None = None,
    default_throttle_wait: float = 60.0,
    fallback_message: str | None = None,
) -> QboError:
    fault = fault or ParsedFault()
    answer = Answer(status, fault)
    resolution = resolve(answer)
    first = fault.items[0] if fault.items else FaultItem()
    if fault.oauth_error:
        message = f"OAuth error {fault.oauth_error}"
        detail = fault.oauth_description
        code = fault.oauth_error
    else:
        message = first.message or fallback_message or (f"HTTP {status}" if status else "QBO error")
        detail = first.detail
        code = first.code  # type: ignore[assignment]
    if resolution.remedy is Remedy.WAIT and retry_after is None:
        retry_after = default_throttle_wait
    return error_for(
        resolution,
        message,
        code=code,
        detail=detail,
        element=first.element,
        intuit_tid=intuit_tid,
        retry_after=retry_after,
        status=status,
        fault_type=fault.fault_type,
        errors=fault.items,
        answer=answer,
    )


def error_from_response(response: httpx.Response, *, default_throttle_wait: float = 60.0) -> QboError:
    """A non-2xx answer (any of the three fault shapes, or none), resolved."""
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
    """Network trouble: timeouts, refused connections, broken streams."""
    answer = Answer(exception=type(exc))
    resolution = resolve(answer)
    return error_for(resolution, f"{resolution.cause}: {type(exc).__name__}", answer=answer)
