"""Writes that may have landed: re-sent only within QBO's requestid memory (RetryConfig.resend_window),
the ending error says whether any attempt may have landed, and nothing is sent past its deadline."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
import respx

from qbo_integration.qbo import (
    BreakerConfig,
    ErrorAction,
    LimitsConfig,
    QboApi,
    QboConfig,
    QboError,
    RetryConfig,
)

from .helpers import BASE, COMPANY, REALM, TA, THROTTLE, MemoryTokenStore, api_url, tokens, unit_api


class _Clock:
    """Time that passes only while the loop sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.calls: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.now += seconds


def _windowed_api(redis, window: float, limits: LimitsConfig | None = None, prefix: str = "qbo"):
    store = MemoryTokenStore()
    store.tokens[COMPANY] = tokens()
    clock = _Clock()
    cfg = replace(QboConfig.local_sandbox(BASE), retry=RetryConfig(resend_window=window), redis_prefix=prefix)
    cfg = replace(cfg, limits=limits or LimitsConfig(enabled=False), breaker=BreakerConfig(enabled=False))
    return QboApi(cfg, redis, store, sleep=clock.sleep, clock=clock), clock


@respx.mock
async def test_a_write_that_may_have_landed_is_not_sent_again_once_qbo_may_have_forgotten_its_requestid(redis):
    """The campaign's duplicate (seed 6): a batch QBO committed lost its answer, the re-send met a 429
    storm that was waited out, and by then QBO had forgotten the requestid and created it again."""
    api, clock = _windowed_api(redis, window=2.0)
    route = respx.post(api_url("timeactivity")).mock(side_effect=[
        httpx.ReadTimeout("answer lost"),
        httpx.Response(429, content=THROTTLE.encode(), headers={"Retry-After": "5"}),
        httpx.Response(200, json=TA),
    ])
    with pytest.raises(QboError) as ei:
        await api.company(COMPANY, REALM).create_time_activity({"NameOf": "Employee"}, request_id="r-lost")
    assert route.call_count == 2, "sent again after the window: QBO may create a second record"
    assert ei.value.resolution.action == ErrorAction.RETRY and "ReadTimeout" in str(ei.value)
    await api.aclose()


@respx.mock
async def test_a_write_refused_for_its_resend_window_takes_none_of_the_realms_budget(redis):
    """The 5,000 run (issue 31): a batch's 5xx retried after the resend window was admitted, counted its
    25 calls, then refused. QBO never saw it, yet the realm's budget lost 25 calls for a minute: 20 % of
    batches fail there, so every realm sent at 70-78 % of QBO's rate."""
    limits = LimitsConfig(local_pacing=False, margin_seconds=0.0)
    api, clock = _windowed_api(redis, window=0.1, limits=limits, prefix="t-resend-budget")
    await api.limiter.reset(REALM)
    route = respx.post(api_url("timeactivity")).mock(side_effect=[httpx.Response(503), httpx.Response(200, json=TA)])
    with pytest.raises(QboError) as ei:
        await api.company(COMPANY, REALM).create_time_activity({"NameOf": "Employee"}, request_id="r-late")
    assert route.call_count == 1 and ei.value.may_have_landed
    assert clock.calls, "the retry waited its backoff, past the resend window"
    assert await api.limiter.calls_in_window(REALM) == 1, "only the call QBO received counts"
    await api.limiter.reset(REALM)
    await api.aclose()


@respx.mock
async def test_a_write_is_sent_again_within_the_window_and_after_attempts_that_never_landed(redis):
    api, clock = _windowed_api(redis, window=2.0)
    route = respx.post(api_url("timeactivity")).mock(side_effect=[
        httpx.ConnectError("refused"),  # never reached QBO: nothing can have landed
        httpx.Response(429, content=THROTTLE.encode(), headers={"Retry-After": "5"}),
        httpx.Response(503),  # may have landed
        httpx.Response(200, json=TA),  # within 2 s of the 503
    ])
    ta = await api.company(COMPANY, REALM).create_time_activity({"NameOf": "Employee"}, request_id="r-ok")
    assert ta.Id == "14" and route.call_count == 4
    assert {c.request.url.params["requestid"] for c in route.calls} == {"r-ok"}
    await api.aclose()


@respx.mock
@pytest.mark.parametrize("answers, landed", [
    ([httpx.Response(400, json={"Fault": {"Error": [{"Message": "bad", "code": "2020"}]}})], False),
    ([httpx.Response(429, content=THROTTLE.encode(), headers={"Retry-After": "600"})], False),
    ([httpx.ConnectError("refused")] * 3, False),
    ([httpx.Response(503)] * 3, True),
    ([httpx.ReadTimeout("lost")] + [httpx.ConnectError("refused")] * 2, True),
    ([httpx.Response(503), httpx.Response(429, content=THROTTLE.encode(), headers={"Retry-After": "600"})], True),
])
async def test_the_error_ending_a_write_says_whether_any_attempt_may_have_landed(setup, answers, landed):
    """A write QBO refused (4xx, 429) or that never left (connect error) needs no look-up; one that timed
    out, lost its answer or got a 5xx at any attempt may be in QBO, whatever the last attempt said."""
    api, _, _ = setup
    respx.post(api_url("timeactivity")).mock(side_effect=answers)
    with pytest.raises(QboError) as ei:
        await api.company(COMPANY, REALM).create_time_activity({"NameOf": "Employee"}, request_id="r-landed")
    assert ei.value.may_have_landed is landed


async def test_a_write_refused_by_our_own_limiter_was_never_sent(redis):
    """The limiter's own "paused" is raised before anything is sent."""
    api, _ = unit_api(redis, limits=True)
    try:
        await api.limiter.penalize(REALM, 60)
        with pytest.raises(QboError) as ei:
            await api.company(COMPANY, REALM).create_time_activity({"NameOf": "Employee"}, request_id="r-local")
        assert ei.value.code == "paused" and ei.value.may_have_landed is False
    finally:
        await api.aclose()


@respx.mock
async def test_no_write_is_sent_after_its_send_by_deadline_but_reads_are(setup):
    from qbo_integration.qbo import writes_sent_by

    api, _, _ = setup
    writes = respx.post(api_url("timeactivity")).respond(200, json=TA)
    reads = respx.get(api_url(f"companyinfo/{REALM}")).respond(200, json={"CompanyInfo": {"CompanyName": "X"}})
    client = api.company(COMPANY, REALM)
    with writes_sent_by(api.clock() - 1):
        with pytest.raises(QboError) as ei:
            await client.create_time_activity({"NameOf": "Employee"}, request_id="r-late")
        await client.company_info()
    assert writes.call_count == 0 and reads.call_count == 1
    assert ei.value.code == "send_window" and ei.value.may_have_landed is False
    with writes_sent_by(api.clock() + 60):
        assert (await client.create_time_activity({"NameOf": "Employee"}, request_id="r-late")).Id == "14"


@respx.mock
async def test_a_send_by_lease_is_read_before_each_attempt_and_the_error_says_when_the_last_went_out(redis):
    """Issue 31: sync's deadline is a lease renewed while the call runs, so it is read before each attempt;
    the error ending a call carries when its last attempt went out (QBO may apply it up to its own timeout
    after that), None when nothing was sent."""
    from qbo_integration.qbo import writes_sent_by

    api, clock = _windowed_api(redis, window=30.0)
    route = respx.post(api_url("timeactivity")).mock(side_effect=[
        httpx.ReadTimeout("answer lost"), httpx.ReadTimeout("answer lost again"), httpx.ReadTimeout("and again")])
    lease = {"until": clock.now + 0.1}  # lapses during the first backoff sleep unless renewed

    async def sleep_and_renew(seconds: float) -> None:
        await _Clock.sleep(clock, seconds)
        if len(clock.calls) == 1:
            lease["until"] = clock.now + 0.1  # renewed once: the second attempt goes out, not the third
    api.loop.sleep = sleep_and_renew
    try:
        with writes_sent_by(lambda: lease["until"]), pytest.raises(QboError) as ei:
            await api.company(COMPANY, REALM).create_time_activity({"NameOf": "Employee"}, request_id="r-lease")
        assert route.call_count == 2
        assert ei.value.may_have_landed and ei.value.last_sent_at == clock.now - clock.calls[-1]
        with writes_sent_by(clock.now - 1), pytest.raises(QboError) as never:
            await api.company(COMPANY, REALM).create_time_activity({"NameOf": "Employee"}, request_id="r-none")
        assert never.value.last_sent_at is None
    finally:
        await api.aclose()
