"""The one request loop (openai-python's `_base_client` idea) for every QBO API call.

Per logical call: at most `max_tries` attempts (3). Each attempt passes the shared realm limiter
(slot + budget, see limits.py), sends JSON headers, `minorversion` and, on writes, the caller's
`requestid` — the very same value on every retry, so QBO answers a repeated create with the
original record. Between attempts: capped exponential backoff with jitter. A 401/3200 triggers one
forced token refresh and one more attempt (not counted among the tries). Everything else is
raised, resolved (resolution.py), at once. What to do after each attempt is decided in attempts.py,
without I/O; this module does it.

A write whose attempt may have landed (a timeout, a lost answer, a 5xx) is sent again only within
`resend_window` of that attempt: QBO forgets request ids after an undocumented time, and a re-send
it no longer recognises is a second record. Later (a long 429 wait in between, say) the attempt's
error is raised instead, and the caller settles the write by looking it up.

A 429 is pacing, not failure: it pauses the whole realm for `Retry-After` (else
`default_throttle_wait`, 60 s) in Redis, spends no try and is no breaker failure. A pause up to
`retry_after_cap` is waited out here and the call sent again (at most `max_throttled_waits` times);
a longer one is raised as RATE_LIMITED with code "paused" and `retry_after`, like the limiter's own
"paused", so the job queue waits without counting an attempt.

Every error that ends a call says whether any of its attempts may have landed (`may_have_landed`):
a write refused by our limiter, a 429 or a 4xx before anything timed out is known not to have been
applied, so the caller can send it again instead of looking it up.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpx

from .attempts import (
    Attempts,
    Outcome,
    PauseRealm,
    RefreshToken,
    Retry,
    most_attempts,
    next_action,
    send_refusal,
)
from .config import QboConfig
from .errors import QboError, RateLimitedError, error_from_exception, error_from_response
from .limits import RealmLimiter
from .models import CallStats
from .observer import NullObserver, hook

TokenProvider = Callable[[str | None], Awaitable[str]]  # (refused token or None) -> access token

#: No attempt of a write is sent after this moment (the client's clock, epoch seconds), or after the
#: moment a callable returns when asked just before each attempt (a lease renewed meanwhile). Set by a
#: caller that will, some time later, take a write it cannot find in QBO for one that never landed
#: (sync's ledger): a send delayed past that (a long limiter wait, a stalled worker) would land next to
#: the record created meanwhile.
SendBy = float | Callable[[], float | None] | None
_SEND_BY: ContextVar[SendBy] = ContextVar("qbo_send_by", default=None)


@contextmanager
def writes_sent_by(deadline: SendBy) -> Iterator[None]:
    """Within this block (and the tasks it starts), writes are sent only until `deadline`."""
    token = _SEND_BY.set(deadline)
    try:
        yield
    finally:
        _SEND_BY.reset(token)


def _send_by() -> float | None:
    deadline = _SEND_BY.get()
    return deadline() if callable(deadline) else deadline


class RequestLoop:
    def __init__(
        self,
        client: httpx.AsyncClient,
        config: QboConfig,
        limiter: RealmLimiter,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        observer: object | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.clock = clock
        self.config = config
        self.limiter = limiter
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._on_call = hook(observer or NullObserver(), "on_call")

    async def send(
        self,
        method: str,
        url: str,
        *,
        realm_id: str,
        token: TokenProvider,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: str | bytes | None = None,
        content_type: str | None = None,
        request_id: str | None = None,
        items: int = 1,
        batch: bool = False,
        stats: Sequence[CallStats] = (),
    ) -> httpx.Response:
        policy = self.config.retry
        query = dict(params or {})
        query["minorversion"] = str(self.config.minor_version)
        if request_id is not None:
            query["requestid"] = request_id
        attempts = Attempts()
        refused: str | None = None  # the access token QBO refused, for the one forced refresh
        last_sent: float | None = None
        try:
            for _ in range(most_attempts(policy)):
                access = await token(refused)
                refused = None
                headers = {"Authorization": f"Bearer {access}", "Accept": "application/json"}
                if json is not None or content is not None:
                    headers["Content-Type"] = content_type or "application/json"
                # Refused before it waits for budget, or after: either way it takes none of the realm's.
                refusal = send_refusal(attempts, self.clock(), _send_by(), write=request_id is not None,
                                       policy=policy)
                if refusal is not None:
                    raise refusal
                async with self.limiter.admit(realm_id, items, batch=batch) as admission:
                    sent_at = self.clock()
                    refusal = send_refusal(attempts, sent_at, _send_by(), write=request_id is not None,
                                           policy=policy)
                    if refusal is not None:
                        await admission.refund()
                        raise refusal
                    last_sent = sent_at
                    _count_send(stats, items, batch)
                    answer = await self._request(method, url, query, json, content, headers)
                await self._on_call(answer.status_code if isinstance(answer, httpx.Response) else None)
                if isinstance(answer, httpx.Response):
                    if answer.status_code < 300:
                        return answer
                    answer = error_from_response(answer, default_throttle_wait=policy.default_throttle_wait)
                outcome = Outcome(answer, sent_at, self.rng.random())
                attempts = attempts.saw(outcome)
                action = next_action(attempts, outcome, policy)
                attempts = attempts.after(action)
                if isinstance(action, RefreshToken):
                    refused = access
                elif isinstance(action, PauseRealm):
                    for s in stats:
                        s.throttled += 1
                    await self.limiter.penalize(realm_id, action.seconds)
                    if not action.wait:  # too long to wait inside a call: the job queue waits
                        raise _paused(answer, action.seconds)
                    await self.sleep(action.seconds)
                elif isinstance(action, Retry):
                    for s in stats:
                        s.retries += 1
                    await self.sleep(action.after)
                else:
                    raise action.error
            raise AssertionError("next_action raises once the call's attempts are spent")
        except QboError as exc:  # whatever ends the call: could any of its attempts have landed?
            exc.may_have_landed = attempts.doubt is not None
            exc.last_sent_at = last_sent
            raise

    async def _request(self, method: str, url: str, query: dict[str, str], json: Any, content: str | bytes | None,
                       headers: dict[str, str]) -> httpx.Response | QboError:
        """One attempt: QBO's answer, or the network trouble that stood in for it."""
        try:
            return await self.client.request(method, url, params=query, json=json, content=content, headers=headers)
        except httpx.HTTPError as exc:
            return error_from_exception(exc)


def _count_send(stats: Sequence[CallStats], items: int, batch: bool) -> None:
    for s in stats:
        s.calls += 1
        if batch:
            s.batches += 1
            s.batch_items += items


def _paused(err: QboError, pause: float) -> RateLimitedError:
    """QBO's 429 as the realm's pause: code "paused" (the realm waits, nothing failed); QBO's own
    fault items stay in `errors`."""
    return RateLimitedError(
        f"QBO throttled this realm: paused for {pause:.0f}s",
        code="paused",
        detail=err.detail or err.message,
        intuit_tid=err.intuit_tid,
        retry_after=pause,
        status=err.status,
        fault_type=err.fault_type,
        errors=err.errors,
    )
