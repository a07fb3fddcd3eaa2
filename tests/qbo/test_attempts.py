"""The request loop's decisions as tables, without HTTP: next_action, what an attempt spends, and
when a write may no longer go out (qbo/attempts.py)."""

from __future__ import annotations

import random
from dataclasses import replace

import httpx
import pytest

from qbo_integration.qbo import RetryConfig
from qbo_integration.qbo.attempts import (
    Attempts,
    Doubt,
    Outcome,
    PauseRealm,
    Raise,
    RefreshToken,
    Retry,
    most_attempts,
    next_action,
    send_refusal,
)
from qbo_integration.qbo.errors import QboError, error_from_exception, error_from_response

from .helpers import FAULT_500, THROTTLE

POLICY = RetryConfig()


def answer(status: int, body=None, headers: dict | None = None) -> QboError:
    if isinstance(body, str):
        return error_from_response(httpx.Response(status, content=body.encode(), headers=headers))
    return error_from_response(httpx.Response(status, json=body, headers=headers))


def fault(code: str, message: str = "m") -> dict:
    return {"Fault": {"Error": [{"Message": message, "code": code}], "type": "ValidationFault"}}


S503 = answer(503)
S500 = answer(500, FAULT_500)
S503_RA3 = answer(503, headers={"Retry-After": "3"})
S503_RA11 = answer(503, headers={"Retry-After": "11"})
TIMEOUT = error_from_exception(httpx.ReadTimeout("lost"))
REFUSED_CONN = error_from_exception(httpx.ConnectError("refused"))
S401 = answer(401)
T429 = answer(429, THROTTLE, {"Retry-After": "2"})
T429_RA10 = answer(429, THROTTLE, {"Retry-After": "10"})
T429_RA11 = answer(429, THROTTLE, {"Retry-After": "11"})
T429_BARE = answer(429, THROTTLE)  # no Retry-After: Intuit's 60 s, longer than a call waits
T3001 = answer(400, fault("3001", "message=ThrottleExceeded"))
S400 = answer(400, fault("2020"))
S404 = answer(404)
STALE = answer(400, fault("5010", "Stale Object Error"))
CLOSED = answer(400, fault("6210", "Account Period Closed"))
LOST = answer(400, {"error": "invalid_grant"})

FIRST = Attempts()


@pytest.mark.parametrize("attempts, error, draw, action", [
    # failures of QBO or the road: capped exponential backoff with equal jitter, 3 tries in all
    (FIRST, S503, 1.0, Retry(0.5)),
    (FIRST, S503, 0.0, Retry(0.25)),
    (FIRST, S500, 1.0, Retry(0.5)),  # 10000 SystemFault
    (FIRST, TIMEOUT, 1.0, Retry(0.5)),
    (FIRST, REFUSED_CONN, 1.0, Retry(0.5)),
    (Attempts(tries=1), S503, 1.0, Retry(1.0)),
    (Attempts(tries=1), S503, 0.0, Retry(0.5)),
    (Attempts(tries=2), S503, 1.0, Raise(S503)),  # the third try failed
    (FIRST, S503_RA3, 1.0, Retry(3.0)),  # a Retry-After lengthens the wait
    (FIRST, S503_RA11, 1.0, Raise(S503_RA11)),  # past retry_after_cap: the job queue waits
    # 401: one forced refresh, not counted as a try; a second 401 is raised
    (FIRST, S401, 1.0, RefreshToken()),
    (Attempts(tries=2), S401, 1.0, RefreshToken()),
    (Attempts(refreshed=True), S401, 1.0, Raise(S401)),
    # 429: the realm pauses; waited out here up to the cap, at most max_throttled_waits times
    (FIRST, T429, 1.0, PauseRealm(2.0, wait=True)),
    (Attempts(tries=2), T429, 1.0, PauseRealm(2.0, wait=True)),  # pacing spends no try
    (FIRST, T3001, 1.0, PauseRealm(60.0, wait=False)),
    (FIRST, T429_RA10, 1.0, PauseRealm(10.0, wait=True)),
    (FIRST, T429_RA11, 1.0, PauseRealm(11.0, wait=False)),
    (FIRST, T429_BARE, 1.0, PauseRealm(60.0, wait=False)),
    (Attempts(throttled=4), T429, 1.0, PauseRealm(2.0, wait=True)),
    (Attempts(throttled=5), T429, 1.0, PauseRealm(2.0, wait=False)),
    # everything else ends the call at once
    (FIRST, S400, 1.0, Raise(S400)),
    (FIRST, S404, 1.0, Raise(S404)),
    (FIRST, STALE, 1.0, Raise(STALE)),  # the caller re-reads the SyncToken
    (FIRST, CLOSED, 1.0, Raise(CLOSED)),
    (FIRST, LOST, 1.0, Raise(LOST)),
])
def test_next_action(attempts, error, draw, action):
    assert next_action(attempts, Outcome(error, 100.0, draw), POLICY) == action


@pytest.mark.parametrize("action, spent", [
    (Retry(0.5), Attempts(tries=1)),
    (RefreshToken(), Attempts(refreshed=True)),
    (PauseRealm(2.0, wait=True), Attempts(throttled=1)),
    (PauseRealm(60.0, wait=False), Attempts(throttled=1)),
    (Raise(S400), Attempts()),
])
def test_what_an_action_spends(action, spent):
    assert FIRST.after(action) == spent


@pytest.mark.parametrize("error, doubtful", [
    (S503, True), (S500, True), (TIMEOUT, True),  # QBO may have applied it before failing
    (REFUSED_CONN, False), (error_from_exception(httpx.ConnectTimeout("t")), False),  # never left
    (S400, False), (T429, False), (S401, False), (STALE, False), (answer(408), False),
])
def test_the_first_attempt_that_may_have_landed_is_remembered(error, doubtful):
    seen = FIRST.saw(Outcome(error, 100.0))
    assert seen.doubt == (Doubt(100.0, error) if doubtful else None)
    assert seen.saw(Outcome(S503, 200.0)).doubt == (seen.doubt if doubtful else Doubt(200.0, S503))


DOUBT = Attempts(tries=1, doubt=Doubt(100.0, TIMEOUT))


@pytest.mark.parametrize("attempts, now, send_by, write, refusal", [
    (FIRST, 500.0, None, True, None),
    (FIRST, 500.0, 400.0, False, None),  # reads are never held back
    (DOUBT, 500.0, 400.0, False, None),
    (DOUBT, 110.0, None, True, None),  # within the resend window: QBO still knows the requestid
    (DOUBT, 110.5, None, True, TIMEOUT),  # past it: the outcome stays unknown, the caller looks it up
    (DOUBT, 105.0, 104.0, True, TIMEOUT),  # past the caller's deadline, after an attempt that may have landed
    (FIRST, 105.0, 105.0, True, None),
])
def test_when_a_write_may_no_longer_go_out(attempts, now, send_by, write, refusal):
    assert send_refusal(attempts, now, send_by, write=write, policy=POLICY) is refusal


def test_a_write_never_sent_in_time_is_refused_by_the_send_window():
    refusal = send_refusal(FIRST, 105.0, 104.0, write=True, policy=POLICY)
    assert refusal is not None and refusal.code == "send_window" and refusal.retry_after == 0.0
    assert refusal.resolution.remedy == "wait"


@pytest.mark.parametrize("policy", [POLICY, RetryConfig(max_tries=1), RetryConfig(max_tries=0),
                                    RetryConfig(max_tries=5, max_throttled_waits=2)])
def test_no_call_makes_more_attempts_than_the_loop_allows(policy):
    """http.send loops `for` over most_attempts(policy): next_action must end every call within it,
    whatever QBO answers."""
    answers = [S503, TIMEOUT, S401, T429, T429_RA10, S503_RA3]
    rng = random.Random(33)
    longest = 0
    for _ in range(3000):
        attempts, sent = Attempts(), 0
        while True:
            sent += 1
            outcome = Outcome(rng.choice(answers), float(sent), rng.random())
            attempts = attempts.saw(outcome)
            action = next_action(attempts, outcome, policy)
            attempts = attempts.after(action)
            if isinstance(action, Raise) or (isinstance(action, PauseRealm) and not action.wait):
                break
        longest = max(longest, sent)
    assert longest <= most_attempts(policy)
    # and the bound is reached: every 429 waited out, one refresh, every try
    worst = [T429] * policy.max_throttled_waits + [S401] + [S503] * max(policy.max_tries, 1)
    attempts = Attempts()
    for i, error in enumerate(worst, 1):
        action = next_action(attempts, Outcome(error, float(i)), policy)
        attempts = attempts.after(action)
        assert isinstance(action, Raise) == (i == len(worst)), (i, action)
    assert len(worst) == most_attempts(policy)


def test_the_policy_lives_in_the_config_and_a_replaced_one_is_used():
    quick = replace(POLICY, max_tries=1)
    assert next_action(FIRST, Outcome(S503, 0.0), quick) == Raise(S503)
