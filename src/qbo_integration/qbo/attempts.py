"""The request loop's decisions, without I/O: what the loop does after each failed attempt of a call.

openai-python's `_should_retry` / `_calculate_retry_timeout` idea. `next_action(attempts, outcome,
policy)` maps the call so far and one attempt's failed answer to one of four actions: retry after N
seconds, refresh the token then retry, pause the realm (and wait that out here or raise it to the job
queue), or raise. `send_refusal` says whether a write may still go out. http.py does what they say.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .config import RetryConfig
from .errors import LocalRateLimitedError, QboError
from .resolution import Remedy


@dataclass(frozen=True)
class Outcome:
    """One attempt's failed answer."""

    error: QboError
    sent_at: float  # the client's clock when the attempt went out
    draw: float = 1.0  # in [0, 1]: the backoff jitter's random part, should this attempt be retried


@dataclass(frozen=True)
class Doubt:
    """The first attempt of a call that may have landed: when it went out, and how it ended."""

    sent_at: float
    error: QboError


@dataclass(frozen=True)
class Retry:
    after: float  # seconds to sleep before the next try


@dataclass(frozen=True)
class RefreshToken:
    """Force a token refresh and try again at once (once per call; the retry is not one of the tries)."""


@dataclass(frozen=True)
class PauseRealm:
    """QBO paces the realm: every process waits `seconds`. This call waits it out and tries again, or
    (`wait` False: too long, or too many pauses) raises it so the job queue waits without an attempt."""

    seconds: float
    wait: bool


@dataclass(frozen=True)
class Raise:
    error: QboError


Action = Retry | RefreshToken | PauseRealm | Raise


@dataclass(frozen=True)
class Attempts:
    """A call so far; each attempt's outcome makes the next value."""

    tries: int = 0  # failed tries that count towards max_tries: not a refresh's retry, not a 429
    throttled: int = 0  # 429s met
    refreshed: bool = False
    doubt: Doubt | None = None

    def saw(self, outcome: Outcome) -> Attempts:
        """Remember the call's first attempt that may have landed (its answer alone says so)."""
        if self.doubt is None and outcome.error.answered.may_have_landed:
            return replace(self, doubt=Doubt(outcome.sent_at, outcome.error))
        return self

    def after(self, action: Action) -> Attempts:
        """Count what `action` spends."""
        if isinstance(action, Retry):
            return replace(self, tries=self.tries + 1)
        if isinstance(action, RefreshToken):
            return replace(self, refreshed=True)
        if isinstance(action, PauseRealm):
            return replace(self, throttled=self.throttled + 1)
        return self


def most_attempts(policy: RetryConfig) -> int:
    """Every attempt a call can make: its tries, the retry after one refresh, and the 429s it waits out."""
    return max(policy.max_tries, 1) + 1 + policy.max_throttled_waits


def next_action(attempts: Attempts, outcome: Outcome, policy: RetryConfig) -> Action:
    """What to do after `outcome`, given the call's `attempts` (with `outcome` already seen)."""
    err = outcome.error
    remedy = err.answered.remedy
    if remedy == Remedy.REFRESH and not attempts.refreshed:
        return RefreshToken()
    if remedy == Remedy.WAIT:  # pacing, not a failed try
        pause = policy.throttle_wait(err.retry_after)
        return PauseRealm(pause, wait=pause <= policy.retry_after_cap
                          and attempts.throttled < policy.max_throttled_waits)
    if remedy == Remedy.RETRY:
        delay = policy.delay_honouring(attempts.tries + 1, err.retry_after, outcome.draw)
        if delay is not None:
            return Retry(delay)
    return Raise(err)


def send_refusal(attempts: Attempts, now: float, send_by: float | None, *, write: bool,
                 policy: RetryConfig) -> QboError | None:
    """Why a write may not go out at `now`, or None. An attempt that may have landed is re-sent under its
    requestid only within `resend_window` (QBO forgets requestids after an undocumented time: a re-send
    it no longer recognises is a second record), and no write goes out after the caller's `send_by`."""
    if not write:
        return None
    doubt = attempts.doubt
    if doubt is not None and now - doubt.sent_at > policy.resend_window:
        return doubt.error  # the outcome stays unknown: the caller settles it by a look-up
    if send_by is not None and now > send_by:
        return doubt.error if doubt is not None else \
            LocalRateLimitedError("The time to send this write ran out; it was not sent", code="send_window",
                                  retry_after=0.0)
    return None
