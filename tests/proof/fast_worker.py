"""`qbo-integration worker` with the sync engine's clocks compressed, for the fault campaign.

Production waits minutes (retry schedule 1 min -> 4 h, a crashed worker's claim is taken back after
15 min, the breaker stays open 30 min, QBO asks for 60 s after a 429). The campaign cannot wait
that long, so this entry point scales those constants down before starting the normal worker.
Nothing else changes: same settings, same code path. Values come from the environment:

    CAMPAIGN_RETRY_SECONDS   comma-separated retry delays (default "1,2,3,4,5")
    CAMPAIGN_RECLAIM_SECONDS an in_flight row older than this is claimed again (default 8)
    CAMPAIGN_LOCK_SECONDS    the per-company job lock's expiry (default 10)
    CAMPAIGN_BREAKER_OPEN    seconds the circuit breaker stays open (default 3)
    CAMPAIGN_THROTTLE_WAIT   seconds to wait after a 429 without Retry-After (default 2)
    CAMPAIGN_SEND_WINDOW     seconds a round may send what it recorded in the ledger (default 60,
                             QBO's budget window, which the campaigns do not compress; production 5 min)
    CAMPAIGN_SETTLE_QUIET    seconds QBO may still apply a request after it was sent (default 8: above
                             the campaigns' 2 s client timeout and 4 s late commits; production 5 min)

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

    saved = (policy.RETRIES, policy.RECLAIM_AFTER, policy.SEND_WINDOW, policy.SETTLE_QUIET,
             nudge.LOCK_SECONDS, services.qbo_config)
    policy.RETRIES = RetryPolicy.fixed(*_floats("CAMPAIGN_RETRY_SECONDS", "1,2,3,4,5"))
    policy.RECLAIM_AFTER = timedelta(seconds=_floats("CAMPAIGN_RECLAIM_SECONDS", "8")[0])
    policy.SEND_WINDOW = timedelta(seconds=_floats("CAMPAIGN_SEND_WINDOW", "60")[0])
    policy.SETTLE_QUIET = timedelta(seconds=_floats("CAMPAIGN_SETTLE_QUIET", "8")[0])
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
        (policy.RETRIES, policy.RECLAIM_AFTER, policy.SEND_WINDOW, policy.SETTLE_QUIET,
         nudge.LOCK_SECONDS, services.qbo_config) = saved

    return undo


def main() -> int:
    patch()
    from qbo_integration.cli import main as cli_main

    return cli_main(["worker"])


if __name__ == "__main__":
    raise SystemExit(main())
