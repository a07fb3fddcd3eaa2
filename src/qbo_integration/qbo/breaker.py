"""Circuit breaker per company, shared by every process, built on aiobreaker.

aiobreaker 1.2.0 gives the model (states CLOSED/OPEN/HALF_OPEN, `fail_max`, `timeout_duration`,
`exclude`, listeners) but, as stack-notes record: its `CircuitRedisStorage` is synchronous (blocks
the loop), `opens_at`/`time_until_open` compare UTC with local time, half-open lets every waiting
caller through, the 5th failure raises `CircuitBreakerError` instead of the real error, and
listeners are sync only. So:

* `AsyncRedisBreakerStorage` implements aiobreaker's `CircuitBreakerStorage` over redis.asyncio:
  the sync properties aiobreaker reads return the last snapshot; every transition is one atomic
  Lua script (failure, success, admission) so processes never race;
* `CompanyBreaker(CircuitBreaker)` replaces `call_async` with an async flow over that storage,
  keeps aiobreaker's `is_system_error`/`exclude` to decide what counts, admits exactly ONE
  half-open trial across processes (a `SET NX` with a lease), re-raises the original error, and
  awaits async hooks on every transition.

Time is Redis's (`TIME`, inside the scripts), never a process's own clock: when a breaker opened and
whether its open period is over is decided on one shared clock, so processes with skewed clocks agree.
A 429 (RATE_LIMITED) is neither a failure nor a success: QBO is pacing us, not unwell.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiobreaker import CircuitBreaker, CircuitBreakerState
from aiobreaker.storage.base import CircuitBreakerStorage

from .config import BreakerConfig
from .errors import BreakerOpenError, QboError
from .resolution import Remedy

T = TypeVar("T")

STATE_NAMES = {
    CircuitBreakerState.CLOSED: "closed",
    CircuitBreakerState.OPEN: "open",
    CircuitBreakerState.HALF_OPEN: "half_open",
}
_BY_NAME = {v: k for k, v in STATE_NAMES.items()}

# The shared clock: Redis's TIME as epoch seconds (a string: Lua numbers come back as integers).
_NOW = """
local t = redis.call('TIME')
local now_s = t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
local now = tonumber(now_s)
"""

# KEYS: hash, trial key; ARGV: open_seconds, trial_ms, trial token
# -> {decision, state, opened_at, moved, now}; decision 'run' | 'trial' | 'reject'; moved=1 if open->half_open here
ADMIT = _NOW + """
local st = redis.call('HGET', KEYS[1], 'state') or 'closed'
local opened = redis.call('HGET', KEYS[1], 'opened_at') or '0'
local moved = 0
if st == 'closed' then return {'run', st, opened, moved, now_s} end
if st == 'open' then
  if now < tonumber(opened) + tonumber(ARGV[1]) then return {'reject', st, opened, moved, now_s} end
  redis.call('HSET', KEYS[1], 'state', 'half_open')
  st = 'half_open'
  moved = 1
end
if redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[2]) then
  return {'trial', st, opened, moved, now_s}
end
return {'reject', st, opened, moved, now_s}
"""

# KEYS: hash, trial key; ARGV: fail_max, trial token ('' if not the trial) -> {old, new, failures, now}
FAILURE = _NOW + """
local st = redis.call('HGET', KEYS[1], 'state') or 'closed'
local n = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local new = st
local is_trial = ARGV[2] ~= '' and redis.call('GET', KEYS[2]) == ARGV[2]
if (st == 'half_open' and is_trial) or (st == 'closed' and n >= tonumber(ARGV[1])) then
  new = 'open'
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now_s)
  redis.call('DEL', KEYS[2])
end
return {st, new, n, now_s}
"""

# KEYS: trial key; ARGV: token -> release the trial lease if it is ours (cancelled trial)
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

# KEYS: hash, trial key; ARGV: trial token ('' when not the trial) -> {old, new}
SUCCESS = """
local st = redis.call('HGET', KEYS[1], 'state') or 'closed'
if st == 'half_open' and ARGV[1] ~= '' and redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0)
  redis.call('DEL', KEYS[2])
  return {st, 'closed'}
end
if st == 'closed' then redis.call('HSET', KEYS[1], 'failures', 0) end
return {st, st}
"""

# KEYS: hash, trial key -> old state
RESET = """
local st = redis.call('HGET', KEYS[1], 'state') or 'closed'
redis.call('DEL', KEYS[1], KEYS[2])
return st
"""


@dataclass(frozen=True)
class BreakerState:
    state: str  # "closed" | "open" | "half_open"
    failures: int
    opened_at: datetime | None
    reopens_at: datetime | None  # when an open breaker lets a trial call through
    reopens_in: float | None = None  # seconds until then on the breaker's clock (Redis TIME): decide on this

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "failures": self.failures,
            "opened_at": self.opened_at.isoformat() if self.opened_at else None,
            "reopens_at": self.reopens_at.isoformat() if self.reopens_at else None,
        }


class AsyncRedisBreakerStorage(CircuitBreakerStorage):
    """aiobreaker storage over redis.asyncio. Sync properties serve the last snapshot read."""

    def __init__(self, redis, key: str) -> None:
        super().__init__("redis-async")
        self.redis = redis
        self.key = key
        self.trial_key = f"{key}:trial"
        self._snap_state = CircuitBreakerState.CLOSED
        self._snap_failures = 0
        self._snap_opened: float | None = None
        self._admit = redis.register_script(ADMIT)
        self._failure = redis.register_script(FAILURE)
        self._success = redis.register_script(SUCCESS)
        self._reset = redis.register_script(RESET)
        self._release = redis.register_script(RELEASE)

    # --- aiobreaker's sync interface (snapshot; writes go through the async methods) ---
    @property
    def state(self) -> CircuitBreakerState:
        return self._snap_state

    @state.setter
    def state(self, state: CircuitBreakerState) -> None:
        self._snap_state = state

    def increment_counter(self) -> None:
        self._snap_failures += 1

    def reset_counter(self) -> None:
        self._snap_failures = 0

    @property
    def counter(self) -> int:
        return self._snap_failures

    @property
    def opened_at(self) -> datetime | None:
        return datetime.fromtimestamp(self._snap_opened, UTC) if self._snap_opened else None

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        self._snap_opened = value.replace(tzinfo=value.tzinfo or UTC).timestamp()

    # --- async, atomic ---
    async def load(self) -> tuple[str, int, float | None]:
        raw = await self.redis.hgetall(self.key)
        data = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in raw.items()
        }
        state = data.get("state", "closed")
        failures = int(data.get("failures", 0))
        opened = float(data["opened_at"]) if data.get("opened_at") else None
        self._remember(state, failures, opened)
        return state, failures, opened

    async def redis_now(self) -> float:
        seconds, micros = await self.redis.time()
        return float(seconds) + float(micros) / 1e6

    def _remember(self, state: str, failures: int | None = None, opened: float | None = None) -> None:
        self._snap_state = _BY_NAME.get(state, CircuitBreakerState.CLOSED)
        if failures is not None:
            self._snap_failures = failures
        if opened is not None:
            self._snap_opened = opened

    async def admit(
        self, open_seconds: float, trial_ms: int, token: str
    ) -> tuple[str, str, float, bool, float]:
        """-> (decision, state, opened_at, moved to half-open here, Redis's now)"""
        decision, state, opened, moved, now = await self._admit(
            keys=[self.key, self.trial_key], args=[open_seconds, trial_ms, token]
        )
        decision, state = _s(decision), _s(state)
        opened_f = float(_s(opened) or 0)
        self._remember(state, opened=opened_f or None)
        return decision, state, opened_f, bool(int(moved)), float(_s(now))

    async def release_trial(self, token: str) -> None:
        await self._release(keys=[self.trial_key], args=[token])

    async def record_failure(self, fail_max: int, trial_token: str = "") -> tuple[str, str, int, float]:
        """-> (old state, new state, failures, Redis's now)"""
        old, new, n, now = await self._failure(keys=[self.key, self.trial_key], args=[fail_max, trial_token])
        old, new, now_f = _s(old), _s(new), float(_s(now))
        self._remember(new, int(n), now_f if new == "open" and old != "open" else None)
        return old, new, int(n), now_f

    async def record_success(self, trial_token: str) -> tuple[str, str]:
        old, new = await self._success(keys=[self.key, self.trial_key], args=[trial_token])
        old, new = _s(old), _s(new)
        self._remember(new, 0 if new == "closed" else None)
        return old, new

    async def reset(self) -> str:
        old = _s(await self._reset(keys=[self.key, self.trial_key]))
        self._remember("closed", 0)
        self._snap_opened = None
        return old


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def counts_as_failure(exc: BaseException) -> bool:
    """Only failures that mean QBO is unwell (RETRY) count; validation, 429 etc. do not."""
    return isinstance(exc, QboError) and exc.counts_for_breaker


def is_pacing(exc: BaseException) -> bool:
    """A 429 or our own limiter's "not now": says nothing about QBO's health either way."""
    return isinstance(exc, QboError) and exc.resolution.remedy is Remedy.WAIT


Hook = Callable[[str, str, str], Awaitable[None]]  # (company_id, old, new)


class CompanyBreaker(CircuitBreaker):
    """One company's breaker. Cheap to create; all state lives in Redis."""

    def __init__(
        self,
        redis,
        company_id: str,
        config: BreakerConfig,
        *,
        prefix: str = "qbo",
        clock: Callable[[], float] = time.time,
        on_change: Hook | None = None,
    ) -> None:
        storage = AsyncRedisBreakerStorage(redis, f"{prefix}:breaker:{company_id}")
        super().__init__(
            fail_max=config.fail_max,
            timeout_duration=timedelta(seconds=config.open_seconds),
            exclude=[lambda e: not counts_as_failure(e)],
            state_storage=storage,
            name=f"qbo:{company_id}",
        )
        self.storage = storage
        self.company_id = company_id
        self.config = config
        self.clock = clock  # this process's clock: only to show Redis's time locally (opens_at)
        self._skew = 0.0  # Redis's now minus self.clock(), as last seen
        self.on_change = on_change

    # aiobreaker's versions compare UTC with local time: use an aware UTC clock instead.
    @property
    def opens_at(self) -> datetime | None:
        opened = self.storage.opened_at
        if opened is None:
            return None
        at = opened + self.timeout_duration
        return at if at > self._now_dt() else None

    @property
    def time_until_open(self) -> timedelta | None:
        at = self.opens_at
        return at - self._now_dt() if at else None

    def _now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.clock() + self._skew, UTC)

    def _saw(self, redis_now: float) -> None:
        self._skew = redis_now - self.clock()

    async def read(self) -> BreakerState:
        state, failures, opened = await self.storage.load()
        opened_dt = datetime.fromtimestamp(opened, UTC) if opened else None
        reopens = opened_dt + self.timeout_duration if opened_dt and state != "closed" else None
        left = None
        if reopens is not None and opened is not None:  # on Redis's clock, as admit() decides
            left = max(0.0, opened + self.timeout_duration.total_seconds() - await self.storage.redis_now())
        return BreakerState(
            state=state,
            failures=failures,
            opened_at=opened_dt if state != "closed" else None,
            reopens_at=reopens,
            reopens_in=left,
        )

    async def reset(self) -> None:
        old = await self.storage.reset()
        await self._notify(old, "closed")

    async def call_async(self, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        token = uuid.uuid4().hex
        decision, state, opened, moved, now = await self.storage.admit(
            self.config.open_seconds, int(self.config.trial_lease_seconds * 1000), token
        )
        self._saw(now)
        if moved:
            await self._notify("open", "half_open")
        if decision == "reject":
            reopens = opened + self.config.open_seconds if state == "open" else now + 1.0
            refusal = BreakerOpenError(
                "QBO calls for this company are paused: the circuit breaker is open"
                if state == "open"
                else "QBO calls for this company are paused: a trial call is in progress",
                retry_after=max(1.0, reopens - now),
            )
            refusal.may_have_landed = False  # nothing was sent
            raise refusal
        trial_token = token if decision == "trial" else ""
        try:
            result = await func(*args, **kwargs)
        except Exception as exc:
            if is_pacing(exc):  # neither well nor unwell: let another caller make the trial
                if trial_token:
                    await self.storage.release_trial(trial_token)
            elif self.is_system_error(exc):
                old, new, _, redis_now = await self.storage.record_failure(self.fail_max, trial_token)
                self._saw(redis_now)
                if old != new:
                    await self._notify(old, new)
            else:  # QBO answered (validation, not found...): it is well
                await self._success(trial_token)
            raise
        except BaseException:  # cancelled: let another caller make the trial
            if trial_token:
                await self.storage.release_trial(trial_token)
            raise
        await self._success(trial_token)
        return result

    async def _success(self, trial_token: str) -> None:
        old, new = await self.storage.record_success(trial_token)
        if old != new:
            await self._notify(old, new)

    async def _notify(self, old: str, new: str) -> None:
        if self.on_change is not None:
            try:
                await self.on_change(self.company_id, old, new)
            except Exception:  # a hook must never break a QBO call
                pass
