"""When a company's QuickBooks grant runs out, and how close that is: one rule for health and the alerts.

A refresh token ends at the earlier of its rolling expiry (100 days after the last refresh; any sync renews
it) and the grant's hard maximum (5 years after the consent; only reconnecting renews it). Health turns
degraded, and the admin is alerted, from WARN_DAYS before; the alerts go out at each of ALERT_DAYS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ALERT_DAYS = (30, 7)
WARN_DAYS = max(ALERT_DAYS)
RECONNECT_PATH = "/api/v1/integrations/quickbooks/reconnect"


@dataclass(frozen=True)
class RefreshDeadline:
    at: datetime
    hard: bool  # the grant's 5-year maximum (else the rolling expiry)

    def days_left(self, now: datetime) -> int:
        return max(0, (self.at - now) // timedelta(days=1))

    def date(self) -> str:
        return self.at.astimezone(UTC).strftime("%Y-%m-%d")


def deadline(rolling: datetime | None, hard: datetime | None) -> RefreshDeadline | None:
    """The earlier of the two expiries (the hard one on a tie), or None when neither is known."""
    if hard is not None and (rolling is None or hard <= rolling):
        return RefreshDeadline(hard, True)
    return RefreshDeadline(rolling, False) if rolling is not None else None


def alert_stage(at: datetime, now: datetime) -> int | None:
    """The nearest alert threshold already reached (7 inside 7 days, 30 inside 30), None before 30 days."""
    reached = [d for d in ALERT_DAYS if at - now <= timedelta(days=d)]
    return min(reached) if reached else None


def reconnect_url(public_base_url: str) -> str:
    return public_base_url.rstrip("/") + RECONNECT_PATH
