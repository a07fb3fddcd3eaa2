"""`qbo-integration worker` with the sync engine's clocks compressed, for the fault campaign.

Production waits minutes (retry schedule 1 min -> 4 h, a crashed worker's claim is taken back after
15 min, the breaker stays open 30 min, QBO asks for 60 s after a 429). The campaign cannot wait
that long, so this entry point scales those constants down before starting the normal worker.
Nothing else changes: same settings, same code path. Values come from the environment:

    CAMPAIGN_RETRY_SECONDS   comma-separated retry delays (default "1,2,3,4,5")
    CAMPAIGN_LEASE_SECONDS   a round's lease on its rows, renewed every third of it; a lapsed one's
                             rows are claimed again (default 10; production 30 s)
    CAMPAIGN_LOCK_SECONDS    the per-company job lock's expiry (default 10)
    CAMPAIGN_BREAKER_OPEN    seconds the circuit breaker stays open (default 3)
    CAMPAIGN_THROTTLE_WAIT   seconds to wait after a 429 without Retry-After (default 2)
    QBO_TIMEOUT_SECONDS      the client's timeout (the worker's own setting) also stands for QBO's request
                             timeout in the settle deadline: the sandbox's late commits (4 s) land within
                             it plus the 10 s margin (production 120 s)

    python -m tests.proof.fast_worker
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from datetime import timedelta


def _floats(name: str, default: str) -> list[float]:
    return [float(x) for x in os.environ.get(name, default).split(",") if x.strip()]


def patch() -> Callable[[], None]:
    """Scale the clocks in this process; returns the function that puts the originals back."""
    from qbo_integration import services
    from qbo_integration.qbo import RetryPolicy
    from qbo_integration.sync import nudge, policy

    saved = (policy.RETRIES, policy.LEASE, policy.LEASE_RENEW, policy.QBO_REQUEST_TIMEOUT,
             nudge.LOCK_SECONDS, services.qbo_config)
    policy.RETRIES = RetryPolicy.fixed(*_floats("CAMPAIGN_RETRY_SECONDS", "1,2,3,4,5"))
    policy.LEASE = timedelta(seconds=_floats("CAMPAIGN_LEASE_SECONDS", "10")[0])
    policy.LEASE_RENEW = policy.LEASE / 3
    policy.QBO_REQUEST_TIMEOUT = timedelta(seconds=_floats("QBO_TIMEOUT_SECONDS", "120")[0])
    nudge.LOCK_SECONDS = int(_floats("CAMPAIGN_LOCK_SECONDS", "10")[0])
    breaker_open = _floats("CAMPAIGN_BREAKER_OPEN", "3")[0]
    throttle_wait = _floats("CAMPAIGN_THROTTLE_WAIT", "2")[0]
    # Below the shortest request-id memory a campaign seed gives the sandbox (ops_plan: 2 s), as the
    # production default (10 s) is below what QBO is assumed to remember.
    resend_window = _floats("CAMPAIGN_RESEND_WINDOW", "1")[0]
    original = services.qbo_config

    def qbo_config(settings):  # type: ignore[no-untyped-def]
        cfg = original(settings)
        return dataclasses.replace(
            cfg,
            breaker=dataclasses.replace(cfg.breaker, open_seconds=breaker_open),
            retry=dataclasses.replace(cfg.retry, default_throttle_wait=throttle_wait, resend_window=resend_window),
            limits=dataclasses.replace(cfg.limits, lease_seconds=15.0),
        )

    services.qbo_config = qbo_config  # type: ignore[assignment]

    def undo() -> None:
        (policy.RETRIES, policy.LEASE, policy.LEASE_RENEW, policy.QBO_REQUEST_TIMEOUT,
         nudge.LOCK_SECONDS, services.qbo_config) = saved

    return undo


def main() -> int:
    patch()
    from qbo_integration.cli import main as cli_main

    return cli_main(["worker"])


if __name__ == "__main__":
    raise SystemExit(main())
