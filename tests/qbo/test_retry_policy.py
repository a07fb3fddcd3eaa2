"""RetryPolicy: the request loop's backoff as it was, and the fixed schedules of the outbox, directory
import and webhooks as one value each."""

from __future__ import annotations

import dataclasses
import random

import pytest

from qbo_integration.qbo import RetryConfig, RetryPolicy


def test_the_request_loops_policy_is_the_old_backoff_draw_for_draw():
    """RequestLoop.backoff at 1a71ac9: ceiling / 2 + rng.uniform(0, ceiling / 2)."""
    policy = RetryPolicy(max_tries=10)
    old, new = random.Random(7), random.Random(7)
    for failed in range(1, 10):
        ceiling = min(8.0, 0.5 * (2 ** (failed - 1)))
        assert policy.delay(failed, new.random()) == ceiling / 2 + old.uniform(0, ceiling / 2)
    assert policy.delay(10) is None


def test_three_tries_with_capped_exponential_backoff_and_equal_jitter():
    policy = RetryConfig()
    assert isinstance(policy, RetryPolicy) and policy.max_tries == 3
    assert (policy.delay(1, 0.0), policy.delay(1, 1.0)) == (0.25, 0.5)
    assert (policy.delay(2, 0.0), policy.delay(2, 1.0)) == (0.5, 1.0)
    assert policy.delay(3) is None  # the third failed try was the last
    assert RetryPolicy(max_tries=99).delay(20, 1.0) == 8.0  # capped
    assert RetryPolicy(jitter=False).delay(2, 0.0) == 1.0


def test_a_retry_after_lengthens_the_delay_up_to_the_cap_and_past_it_ends_the_tries():
    policy = RetryConfig()
    assert policy.delay_honouring(1, 3.0, 1.0) == 3.0
    assert policy.delay_honouring(1, 0.1, 1.0) == 0.5  # shorter than the backoff: the backoff
    assert policy.delay_honouring(1, 10.0, 1.0) == 10.0
    assert policy.delay_honouring(1, 10.5, 1.0) is None  # the job queue waits that long, not this call
    assert policy.delay_honouring(3, 1.0) is None
    assert (policy.throttle_wait(None), policy.throttle_wait(7.0)) == (60.0, 7.0)


@pytest.mark.parametrize("policy, delays", [
    # sync/policy.RETRIES: 1 min, 5 min, 15 min, 1 h, 4 h; after the 5th failed retry the row is dead
    (RetryPolicy.fixed(60, 300, 900, 3600, 14400), [0.0, 60, 300, 900, 3600, 14400, None]),
    # directory/import_flow.RETRIES: 3 attempts, deferred 5 min x attempt
    (RetryPolicy.fixed(300, 600), [0.0, 300, 600, None]),
    # webhooks/service.RETRIES: 5 attempts 60 s apart; "failed" once attempts >= 5
    (RetryPolicy.fixed(60, 60, 60, 60), [0.0, 60, 60, 60, 60, None]),
])
def test_a_fixed_schedule_is_its_delays_then_no_more_tries(policy, delays):
    assert [policy.delay(failed, random.random()) for failed in range(len(delays))] == delays
    assert policy.max_tries == len(delays) - 1


def test_the_request_loops_settings_are_a_policy_plus_its_own():
    cfg = dataclasses.replace(RetryConfig(), default_throttle_wait=1.0, resend_window=2.0, max_tries=1)
    assert (cfg.max_throttled_waits, cfg.resend_window, cfg.default_throttle_wait) == (5, 2.0, 1.0)
    assert cfg.delay(1) is None
