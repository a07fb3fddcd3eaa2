"""Shared Redis limiter and circuit breaker (real Redis, several instances standing in for processes)."""

from __future__ import annotations

import asyncio
import time

import pytest

from qbo_integration.qbo import (
    BreakerConfig,
    CompanyBreaker,
    ErrorAction,
    LimitsConfig,
    QboError,
    RealmLimiter,
)
from qbo_integration.qbo.errors import (
    BreakerOpenError,
    LocalRateLimitedError,
    RateLimitedError,
    TransientError,
    ValidationError,
)

from .helpers import age_breaker


class Hooks:
    def __init__(self) -> None:
        self.changes: list[tuple[str, str]] = []

    async def __call__(self, company_id: str, old: str, new: str) -> None:
        self.changes.append((old, new))


async def _fail(exc: Exception):
    raise exc


async def _ok():
    return "ok"


async def test_breaker_opens_after_five_unwell_failures_only(redis):
    hooks = Hooks()
    b = CompanyBreaker(redis, "c1", BreakerConfig(open_seconds=1800), on_change=hooks)
    for _ in range(10):  # validation errors: QBO answered, it is well
        with pytest.raises(ValidationError):
            await b.call_async(_fail, ValidationError("bad mapping"))
    assert (await b.read()).state == "closed"
    for i in range(5):
        with pytest.raises(TransientError):  # the original error, never aiobreaker's CircuitBreakerError
            await b.call_async(_fail, TransientError(f"503 #{i}"))
    st = await b.read()
    assert st.state == "open" and st.failures == 5
    assert abs(st.opened_at.timestamp() - time.time()) < 60 and (st.reopens_at - st.opened_at).total_seconds() == 1800
    assert hooks.changes == [("closed", "open")]
    # another process's breaker object sees it and refuses without calling
    other = CompanyBreaker(redis, "c1", BreakerConfig(open_seconds=1800))
    with pytest.raises(BreakerOpenError) as ei:
        await other.call_async(_ok)
    assert ei.value.resolution.action == ErrorAction.BREAKER_OPEN and 1740 < ei.value.retry_after <= 1800
    assert other.time_until_open is not None  # UTC-aware, no TypeError


async def test_success_resets_the_consecutive_count(redis):
    b = CompanyBreaker(redis, "c2", BreakerConfig())
    for _ in range(4):
        with pytest.raises(QboError):
            await b.call_async(_fail, TransientError("x"))
    assert await b.call_async(_ok) == "ok"
    for _ in range(4):
        with pytest.raises(QboError):
            await b.call_async(_fail, TransientError("x"))
    assert (await b.read()).state == "closed"


async def test_half_open_admits_exactly_one_trial_across_processes(redis):
    hooks = Hooks()
    cfg = BreakerConfig(open_seconds=60)
    breakers = [CompanyBreaker(redis, "c3", cfg, on_change=hooks) for _ in range(5)]
    for _ in range(5):
        with pytest.raises(QboError):
            await breakers[0].call_async(_fail, TransientError("x"))
    await age_breaker(redis, "c3", 61)
    gate = asyncio.Event()
    ran = 0

    async def slow():
        nonlocal ran
        ran += 1
        await gate.wait()
        return "ok"

    tasks = [asyncio.create_task(b.call_async(slow)) for b in breakers]
    await asyncio.sleep(0.05)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert ran == 1
    assert sum(r == "ok" for r in results) == 1
    assert sum(isinstance(r, BreakerOpenError) for r in results) == 4
    assert (await breakers[1].read()).state == "closed"
    assert hooks.changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


async def test_failed_trial_reopens_and_admin_reset_closes(redis):
    hooks = Hooks()
    b = CompanyBreaker(redis, "c4", BreakerConfig(open_seconds=60), on_change=hooks)
    for _ in range(5):
        with pytest.raises(QboError):
            await b.call_async(_fail, TransientError("x"))
    await age_breaker(redis, "c4", 61)
    with pytest.raises(TransientError):
        await b.call_async(_fail, TransientError("still down"))
    st = await b.read()
    assert st.state == "open" and abs(st.opened_at.timestamp() - time.time()) < 60  # opened again, just now
    await b.reset()
    assert (await b.read()).state == "closed"
    assert hooks.changes[-1] == ("open", "closed")
    assert await b.call_async(_ok) == "ok"


async def test_limiter_budget_window_and_usage(redis):
    cfg = LimitsConfig(
        calls_per_window=10,
        batches_per_window=2,
        window_seconds=1.0,
        margin_seconds=0.0,
        local_pacing=False,
        max_wait_seconds=5,
    )
    lim = RealmLimiter(redis, cfg, prefix="t1")
    start = time.monotonic()
    for _ in range(10):
        async with lim.admit("r1"):
            pass
    assert time.monotonic() - start < 0.5
    assert await lim.usage_percent("r1") == 100.0
    async with lim.admit("r1"):  # the 11th waits for the window to slide
        pass
    assert time.monotonic() - start >= 0.9
    # batch requests: items count one by one, and 2 batches per window
    await lim.reset("r2")
    t0 = time.monotonic()
    async with lim.admit("r2", 3, batch=True):
        pass
    async with lim.admit("r2", 3, batch=True):
        pass
    async with lim.admit("r2", 3, batch=True):  # third batch in the window waits
        pass
    assert time.monotonic() - t0 >= 0.9


async def test_a_refunded_admission_gives_the_realm_its_budget_back(redis):
    """A request admitted and then not sent (its time to send ran out while it waited) never reached QBO."""
    cfg = LimitsConfig(calls_per_window=25, batches_per_window=1, window_seconds=60, margin_seconds=0.0,
                       local_pacing=False, max_wait_seconds=0.5)
    lim = RealmLimiter(redis, cfg, prefix="t-refund")
    await lim.reset("r")
    async with lim.admit("r", 25, batch=True) as admission:
        await admission.refund()
        await admission.refund()  # once is enough; twice changes nothing
    assert await lim.calls_in_window("r") == 0
    async with lim.admit("r", 25, batch=True):  # the whole minute's budget and its one batch, at once
        pass
    assert await lim.calls_in_window("r") == 25
    with pytest.raises(LocalRateLimitedError):
        async with lim.admit("r"):
            pass
    await lim.reset("r")


async def test_limiter_holds_a_realm_to_ten_requests_a_second(redis):
    """QBO also refuses an 11th request within a second (qbo-wire.md), whatever the minute's budget."""
    cfg = LimitsConfig(calls_per_window=500, window_seconds=60, margin_seconds=0.0, local_pacing=False,
                       max_wait_seconds=5)
    lim = RealmLimiter(redis, cfg, prefix="t-rps")
    start = time.monotonic()
    for _ in range(11):
        async with lim.admit("r1"):
            pass
    assert time.monotonic() - start >= 0.9  # the 11th waited for the first to leave the second
    assert await lim.calls_in_window("r1") == 11  # and the minute's budget counted all of them


async def test_a_request_counts_in_its_second_until_a_second_after_its_answer(redis):
    """QBO counts a request when it receives it, which may be as late as just before its answer (a busy
    event loop, a slow network). Ten slow requests admitted at once still fill the second when they are
    answered 1.2 s later: an 11th admitted 1.0 s after their admission (as the old log allowed) could
    meet them in QBO's second (seen: a 429 and a 60 s pause for test mapping in CI)."""
    cfg = LimitsConfig(calls_per_window=500, window_seconds=60, margin_seconds=0.0, local_pacing=False,
                       max_wait_seconds=10)
    lim = RealmLimiter(redis, cfg, prefix="t-rps-answer")

    async def slow() -> None:
        async with lim.admit("r1"):
            await asyncio.sleep(1.2)  # the request in flight

    start = time.monotonic()
    ten = [asyncio.create_task(slow()) for _ in range(10)]
    await asyncio.sleep(0.1)
    async with lim.admit("r1"):
        admitted = time.monotonic() - start
    await asyncio.gather(*ten)
    assert admitted >= 2.1, admitted  # their answers (1.2 s) + one second, not their admission + one second


async def test_limiter_gives_up_past_max_wait_and_pause(redis):
    cfg = LimitsConfig(
        calls_per_window=2, window_seconds=30, margin_seconds=0, local_pacing=False, max_wait_seconds=0.5
    )
    lim = RealmLimiter(redis, cfg, prefix="t2")
    for _ in range(2):
        async with lim.admit("r"):
            pass
    with pytest.raises(LocalRateLimitedError) as ei:
        async with lim.admit("r"):
            pass
    assert ei.value.retry_after > 20 and not ei.value.counts_for_breaker
    await lim.reset("r")
    await lim.penalize("r", 60)
    with pytest.raises(LocalRateLimitedError) as ei:
        async with lim.admit("r"):
            pass
    assert ei.value.code == "paused" and ei.value.retry_after > 55


async def test_in_flight_semaphore_and_lease_expiry(redis):
    cfg = LimitsConfig(max_in_flight=2, lease_seconds=30, local_pacing=False, max_wait_seconds=30)
    lim = RealmLimiter(redis, cfg, prefix="t3")
    peak = 0
    inside = 0

    async def one():
        nonlocal peak, inside
        async with lim.admit("r"):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.05)
            inside -= 1

    await asyncio.gather(*(one() for _ in range(8)))
    assert peak == 2
    # a crashed holder: slots taken and never released free themselves after the lease
    for i in range(2):
        await lim._slot(keys=[lim._k("r", "inflight")], args=[2, 1000, f"dead-{i}"])
    t0 = time.monotonic()
    async with lim.admit("r"):
        pass
    assert 0.8 < time.monotonic() - t0 < 10


async def test_a_paused_call_gives_its_in_flight_slot_back_at_once(redis):
    """After a 429 every call attempted during the pause took one of the realm's 10 slots and gave up
    with "paused" without releasing it: nothing was sent until the leases expired (130 s)."""
    cfg = LimitsConfig(local_pacing=False, max_wait_seconds=5, lease_seconds=130)
    lim = RealmLimiter(redis, cfg, prefix="t4")
    await lim.penalize("r", 60)
    for _ in range(25):
        with pytest.raises(LocalRateLimitedError) as ei:
            async with lim.admit("r"):
                raise AssertionError("admitted while paused")
        assert ei.value.code == "paused"
    assert await redis.zcard(lim._k("r", "inflight")) == 0
    await redis.delete(lim._k("r", "pause"))  # the pause ends
    async with lim.admit("r"):  # sent at once; with the leaked slots this raised "concurrency"
        assert await lim.in_flight("r") == 1
    assert await redis.zcard(lim._k("r", "inflight")) == 0


async def test_429s_are_not_breaker_failures(redis):
    hooks = Hooks()
    b = CompanyBreaker(redis, "c5", BreakerConfig(fail_max=5), on_change=hooks)
    for i in range(12):  # a throttled moment: QBO's 429s and our limiter's "paused"
        exc = RateLimitedError("429", retry_after=60) if i % 2 else LocalRateLimitedError("paused", code="paused")
        with pytest.raises(RateLimitedError):
            await b.call_async(_fail, exc)
    st = await b.read()
    assert st.state == "closed" and st.failures == 0 and hooks.changes == []
    # nor do they reset the count of real failures, or close a half-open breaker
    for _ in range(4):
        with pytest.raises(TransientError):
            await b.call_async(_fail, TransientError("503"))
    with pytest.raises(RateLimitedError):
        await b.call_async(_fail, RateLimitedError("429"))
    assert (await b.read()).failures == 4
    with pytest.raises(TransientError):
        await b.call_async(_fail, TransientError("503"))
    assert (await b.read()).state == "open"
    await age_breaker(redis, "c5", 31 * 60)
    with pytest.raises(RateLimitedError):  # the trial was throttled: no verdict, the next caller tries
        await b.call_async(_fail, RateLimitedError("429"))
    assert (await b.read()).state == "half_open"
    assert await b.call_async(_ok) == "ok"
    assert (await b.read()).state == "closed"


async def test_breaker_time_is_redis_time_not_each_processs_clock(redis):
    """Two processes whose clocks disagree by two hours: the one that opened the breaker must not set
    a reopen time from its own clock, nor may the other judge the open period by its own."""
    cfg = BreakerConfig(open_seconds=1800)
    ahead = CompanyBreaker(redis, "c6", cfg, clock=lambda: time.time() + 3600)
    behind = CompanyBreaker(redis, "c6", cfg, clock=lambda: time.time() - 3600)
    for _ in range(5):
        with pytest.raises(TransientError):
            await ahead.call_async(_fail, TransientError("503"))
    st = await behind.read()
    assert st.state == "open" and abs(st.opened_at.timestamp() - time.time()) < 60
    for b in (ahead, behind):
        with pytest.raises(BreakerOpenError) as ei:
            await b.call_async(_ok)
        assert 1740 < ei.value.retry_after <= 1800
        assert 1740 < b.time_until_open.total_seconds() <= 1800
    await age_breaker(redis, "c6", 1801)  # the open period is over on the shared clock
    assert await behind.call_async(_ok) == "ok"  # the trial, although its own clock says "too early"
    assert (await ahead.read()).state == "closed"
