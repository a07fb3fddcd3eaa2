"""Shared helpers for the QBO client tests (not fixtures: plain functions)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from qbo_integration.qbo import (
    BreakerConfig,
    LimitsConfig,
    MemoryTokenStore,
    QboApi,
    QboConfig,
    RetryConfig,
    TokenSet,
)

BASE = "https://qbo.test"
REALM = "9130350000000001"
COMPANY = "11111111-1111-1111-1111-111111111111"


def tokens(access: str = "at-1", refresh: str = "rt-1", expires_in: float = 3600) -> TokenSet:
    now = datetime.now(UTC)
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=now + timedelta(seconds=expires_in),
        refresh_expires_at=now + timedelta(days=100),
    )


class Sleeps:
    """Injectable sleep that records and does not wait."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def unit_api(
    redis,
    *,
    store: MemoryTokenStore | None = None,
    limits: bool = False,
    breaker: bool = False,
    sleep=None,
    **config_kw,
) -> tuple[QboApi, MemoryTokenStore]:
    store = store or MemoryTokenStore()
    if COMPANY not in store.tokens:
        store.tokens[COMPANY] = tokens()
    cfg = QboConfig.local_sandbox(BASE)
    cfg = replace(
        cfg,
        limits=LimitsConfig(enabled=limits),
        breaker=BreakerConfig(enabled=breaker),
        retry=RetryConfig(),
        **config_kw,
    )
    api = QboApi(cfg, redis, store, sleep=sleep or Sleeps())
    return api, store


def api_url(path: str) -> str:
    return f"{BASE}/v3/company/{REALM}/{path}"


async def age_breaker(redis, company_id: str, seconds: float, prefix: str = "qbo") -> None:
    """Let `seconds` pass on the breaker's clock (Redis's TIME, which a test cannot move): its
    opened_at moves that far into the past."""
    key = f"{prefix}:breaker:{company_id}"
    opened = await redis.hget(key, "opened_at")
    assert opened is not None, "the breaker never opened"
    await redis.hset(key, "opened_at", repr(float(opened) - seconds))


# Answers the request-loop tests give.
TA = {"TimeActivity": {"Id": "14", "SyncToken": "0", "NameOf": "Employee"}, "time": "t"}
FAULT_500 = {"Fault": {"Error": [{"Message": "internal", "code": "10000"}], "type": "SystemFault"}}
THROTTLE = (
    '<Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; '
    "statusCode=429</Message><Detail>Try again later</Detail></Error></Fault>"
)
