"""Per-realm limits shared by every process (Redis), plus in-process pacing (aiolimiter).

Redis holds the truth (stack-notes: a limit kept in one process's memory is wrong as soon as two
workers run):

* a sliding-window log per realm of every call admitted in the last window (each batch item is one
  call): at most `calls_per_window` (500 / 60 s);
* a sliding-window log of batch requests: at most `batches_per_window` (40 / 60 s);
* a sliding one-second log of requests: at most `requests_per_second` (10) HTTP requests a second
  (a batch is one request). QBO counts a request when it receives it, some time between our admitting
  it and our reading its answer; so a request counts from its admission until one second (plus a
  margin) after its answer, and while it is in flight. Counted from admission alone, a burst admitted
  at the edge of the window and sent late (a busy event loop, a slow network) met later requests in
  QBO's second: a 429, and a 60 s pause;
* a lease-based semaphore: at most `max_in_flight` (10) requests in flight per realm; a slot whose
  holder crashed frees itself after `lease_seconds`;
* a "pause" set after QBO answered 429, so every process holds off together.

All admission decisions are one Lua script each and use Redis's own clock (`TIME`), so processes
with skewed clocks still agree. Order per attempt: local pacing -> in-flight slot -> budget -> send
at once (budget is taken as late as possible so what QBO logs lines up with what we counted; the
counted window is also widened by `margin_seconds`).

`aiolimiter.AsyncLimiter(30, 30 * window/limit)` paces one process to the budget (500/min) with a
burst of at most one batch, not the ~990-in-the-first-minute burst of `AsyncLimiter(500, 60)`
(stack-notes); it only smooths, it never grants budget. (Pacing at twice the rate, so a realm could
catch up calls it left unused, cut the 5,000 fault run's tail but slowed the 50 x 1,000 fleet, where
the CPU binds: 280 s against 138 s. docs/benchmarks.md, issue 31.)

A request admitted but then not sent (its time to send ran out while it waited) is refunded: QBO never
counts it, and counted here it hid its calls from the realm for a whole window.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiolimiter import AsyncLimiter

from .config import LimitsConfig
from .errors import LocalRateLimitedError

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: calls zset, batches zset, (unused), pause, requests-per-second zset
# ARGV: items, is_batch, call_limit, batch_limit, window_ms, requests_per_second (0: off), second_ms,
#       lease id, lease_ms
# -> 0 when admitted (and recorded), else milliseconds to wait (negative: QBO asked us to pause)
# A request's entry in the requests-per-second log is scored with its lease's end while it is in flight
# (RELEASE re-scores it with the time its answer came), so it is never pruned while QBO may still count it.
ACQUIRE_BUDGET = (
    _NOW_MS
    + """
local pause = redis.call('PTTL', KEYS[4])
if pause > 0 then return -pause end
-- ms until `add` more entries fit in the sliding log `key` of `span` ms holding at most `limit` (0: now)
local function wait_for(key, span, add, limit)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  local used = redis.call('ZCARD', key)
  if used + add <= limit then return 0 end
  local idx = used + add - limit - 1
  local e = redis.call('ZRANGE', key, idx, idx, 'WITHSCORES')
  local score = tonumber(e[2])
  if score > now then return 25 end  -- a request still in flight: look again shortly
  return score + span - now + 1
end
local n = tonumber(ARGV[1])
local isb = tonumber(ARGV[2])
local window = tonumber(ARGV[5])
local wait = wait_for(KEYS[1], window, n, tonumber(ARGV[3]))
if isb == 1 then
  wait = math.max(wait, wait_for(KEYS[2], window, 1, tonumber(ARGV[4])))
end
local rlimit = tonumber(ARGV[6])
local second = tonumber(ARGV[7])
if rlimit > 0 then
  wait = math.max(wait, wait_for(KEYS[5], second, 1, rlimit))
end
if wait > 0 then return wait end
if rlimit > 0 then
  redis.call('ZADD', KEYS[5], now + tonumber(ARGV[9]), ARGV[8])
  redis.call('PEXPIRE', KEYS[5], tonumber(ARGV[9]) + second + 1000)
end
for i = 1, n do
  redis.call('ZADD', KEYS[1], now, ARGV[8] .. ':' .. i)
end
redis.call('PEXPIRE', KEYS[1], window + 1000)
if isb == 1 then
  redis.call('ZADD', KEYS[2], now, ARGV[8])
  redis.call('PEXPIRE', KEYS[2], window + 1000)
end
return 0
"""
)

# KEYS: calls zset, batches zset, requests-per-second zset; ARGV: lease id, items
# An admission whose request was not sent after all: its calls, batch and request leave the windows.
REFUND = """
for i = 1, tonumber(ARGV[2]) do
  redis.call('ZREM', KEYS[1], ARGV[1] .. ':' .. i)
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"""

# KEYS: in-flight zset (member = lease id, score = lease expiry ms)
# ARGV: max, lease_ms, lease id   -> 1 admitted, 0 full
ACQUIRE_SLOT = (
    _NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 1000)
  return 1
end
return 0
"""
)

# KEYS: in-flight zset, requests-per-second zset; ARGV: lease id
# The request is answered: its slot goes back, and it counts a second from now (not from its admission).
RELEASE = (
    _NOW_MS
    + """
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then redis.call('ZADD', KEYS[2], 'XX', now, ARGV[1]) end
return 1
"""
)

# KEYS: calls zset; ARGV: window_ms -> calls in the window
USAGE = (
    _NOW_MS
    + """
return redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[1]), '+inf')
"""
)

# KEYS: pause; ARGV: ms   (extend only, never shorten)
PAUSE = """
local cur = redis.call('PTTL', KEYS[1])
if cur < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
return 1
"""


PACING_BURST = 30  # one full batch


class Admission:
    """A request let through by RealmLimiter.admit."""

    def __init__(self, refund: Callable[[], Awaitable[object]] | None) -> None:
        self._refund = refund

    async def refund(self) -> None:
        """The request will not be sent (its time to send ran out while it waited): QBO never counts it,
        so neither do we. Counted, each such batch hid 25 calls of the realm's budget for a window."""
        if self._refund is not None:
            refund, self._refund = self._refund, None
            await refund()


class RealmLimiter:
    """Admission to QBO for one app, per realm. One instance per process is enough."""

    def __init__(
        self,
        redis,
        config: LimitsConfig,
        *,
        prefix: str = "qbo",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_wait: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.redis = redis
        self.config = config
        self.prefix = prefix
        self._sleep = sleep
        self._on_wait = on_wait
        self._pacers: dict[str, AsyncLimiter] = {}
        self._pace_locks: dict[str, asyncio.Lock] = {}
        self._budget = redis.register_script(ACQUIRE_BUDGET)
        self._slot = redis.register_script(ACQUIRE_SLOT)
        self._usage = redis.register_script(USAGE)
        self._pause = redis.register_script(PAUSE)
        self._release = redis.register_script(RELEASE)
        self._refund = redis.register_script(REFUND)

    # ------------------------------------------------------------------ keys
    def _k(self, realm_id: str, name: str) -> str:
        return f"{self.prefix}:limit:{{{realm_id}}}:{name}"

    @property
    def _window_ms(self) -> int:
        return int((self.config.window_seconds + self.config.margin_seconds) * 1000)

    # ------------------------------------------------------------------ public
    @asynccontextmanager
    async def admit(self, realm_id: str, items: int = 1, *, batch: bool = False) -> AsyncIterator[Admission]:
        """Wait for pacing, an in-flight slot and budget for `items` calls; hold the slot while inside.
        Inside, `refund()` gives the budget back when the request is not sent after all."""
        if not self.config.enabled:
            yield Admission(None)
            return
        if items > self.config.calls_per_window:
            raise ValueError(f"{items} calls can never fit a budget of {self.config.calls_per_window}")
        deadline = time.monotonic() + self.config.max_wait_seconds
        waited = await self._pace(realm_id, items)
        lease = uuid.uuid4().hex
        slot_key = self._k(realm_id, "inflight")
        while True:
            waited += await self._acquire_slot(realm_id, lease, deadline)
            try:
                wait = await self._try_budget(realm_id, items, batch, deadline, lease)
            except BaseException:  # paused / budget gone / cancelled: the slot goes back at once
                await self.redis.zrem(slot_key, lease)
                raise
            if wait == 0:
                break
            # never hold an in-flight slot while waiting for budget: others may use it meanwhile
            await self.redis.zrem(slot_key, lease)
            await self._sleep(wait)
            waited += wait
        try:
            if waited and self._on_wait:
                await self._on_wait(waited)
            yield Admission(lambda: self._refund(
                keys=[self._k(realm_id, n) for n in ("calls", "batches", "rps")], args=[lease, items]))
        finally:
            await self._release(keys=[slot_key, self._k(realm_id, "rps")], args=[lease])

    async def penalize(self, realm_id: str, seconds: float) -> None:
        """QBO said 429: every process holds off this realm for `seconds`."""
        if self.config.enabled and seconds > 0:
            await self._pause(keys=[self._k(realm_id, "pause")], args=[int(seconds * 1000)])

    async def paused_for(self, realm_id: str) -> float:
        ms = await self.redis.pttl(self._k(realm_id, "pause"))
        return max(0.0, ms / 1000) if ms and ms > 0 else 0.0

    async def calls_in_window(self, realm_id: str) -> int:
        ms = int(self.config.window_seconds * 1000)
        return int(await self._usage(keys=[self._k(realm_id, "calls")], args=[ms]))

    async def usage_percent(self, realm_id: str) -> float:
        """Calls in the last window as a percentage of the budget (health dashboard)."""
        return round(await self.calls_in_window(realm_id) / self.config.calls_per_window * 100, 1)

    async def in_flight(self, realm_id: str) -> int:
        now_ms = int(time.time() * 1000)
        return int(await self.redis.zcount(self._k(realm_id, "inflight"), now_ms, "+inf"))

    async def reset(self, realm_id: str) -> None:
        await self.redis.delete(
            *(self._k(realm_id, n) for n in ("calls", "batches", "seq", "pause", "inflight", "rps"))
        )

    # ------------------------------------------------------------------ internals
    async def _pace(self, realm_id: str, items: int) -> float:
        """Local pacing at the realm's rate. AsyncLimiter(30, 30 * window / limit) = 500/min with a
        burst of at most one full batch (never the ~2x-in-the-first-minute burst of
        AsyncLimiter(500, 60)); a batch acquires its items in one go instead of 30 wake-ups.
        Waiters queue on an asyncio.Lock first: with many concurrent waiters aiolimiter 1.3 re-wakes
        them all on every drip (seen here: 10 tasks x 30 acquire(1) on AsyncLimiter(1, p) never
        finished), so only one coroutine ever waits inside it."""
        if not self.config.local_pacing:
            return 0.0
        pacer = self._pacers.get(realm_id)
        if pacer is None:
            burst = min(PACING_BURST, self.config.calls_per_window)
            pacer = self._pacers[realm_id] = AsyncLimiter(
                burst, burst * self.config.window_seconds / self.config.calls_per_window
            )
        lock = self._pace_locks.setdefault(realm_id, asyncio.Lock())
        start = time.monotonic()
        left = items
        async with lock:  # one waiter inside the limiter at a time: FIFO, and no wake-up herd
            while left > 0:
                step = min(left, pacer.max_rate)
                await pacer.acquire(step)
                left -= step  # type: ignore[assignment]
        return time.monotonic() - start

    async def _acquire_slot(self, realm_id: str, lease: str, deadline: float) -> float:
        key = self._k(realm_id, "inflight")
        lease_ms = int(self.config.lease_seconds * 1000)
        waited = 0.0
        while True:
            if await self._slot(keys=[key], args=[self.config.max_in_flight, lease_ms, lease]):
                return waited
            if time.monotonic() > deadline:
                raise LocalRateLimitedError(
                    "too many requests in flight for this realm", retry_after=1.0, code="concurrency"
                )
            pause = random.uniform(0.005, 0.03)
            await self._sleep(pause)
            waited += pause

    async def _try_budget(self, realm_id: str, items: int, batch: bool, deadline: float, lease: str) -> float:
        """0 when admitted (budget recorded), else seconds to wait; raises past the deadline."""
        keys = [self._k(realm_id, n) for n in ("calls", "batches", "seq", "pause", "rps")]
        args = [
            items,
            1 if batch else 0,
            self.config.calls_per_window,
            self.config.batches_per_window,
            self._window_ms,
            self.config.requests_per_second,
            int((1.0 + self.config.margin_seconds / 5) * 1000),
            lease,
            int(self.config.lease_seconds * 1000),
        ]
        wait_ms = int(await self._budget(keys=keys, args=args))
        if wait_ms == 0:
            return 0.0
        if wait_ms < 0 and -wait_ms / 1000 > self.config.max_pause_wait_seconds:
            raise LocalRateLimitedError(
                "QBO throttled this realm: paused", retry_after=round(-wait_ms / 1000, 3), code="paused"
            )
        wait = abs(wait_ms) / 1000 + random.uniform(0, 0.01)
        if time.monotonic() + wait > deadline:
            raise LocalRateLimitedError(
                "QBO rate budget for this realm is used up", retry_after=round(wait, 3), code="budget"
            )
        return wait
