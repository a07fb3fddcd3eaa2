"""QBO read calls, counted in Redis (shared by every process): per company per calendar month (UTC), per
company per day by purpose, and per app per month by purpose (Intuit's budget is the app's, shared by
every customer company).

Intuit meters reads (queries, reads by id, CDC) under its partner program, with a monthly cap on the
entry tier; writes are free. Each read carries its purpose (qbo.purpose); health shows a company's
month and day, /metrics the app's month.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qbo_integration.clock import utc_now
from qbo_integration.qbo import purpose as purposes

KEEP_SECONDS = 40 * 86400  # past the end of the month it counts
KEEP_DAY_SECONDS = 8 * 86400


def _key(company_id: Any, now: datetime) -> str:
    return f"qboi:reads:{company_id}:{now:%Y-%m}"


def _day_key(company_id: Any, now: datetime) -> str:
    return f"qboi:reads:day:{company_id}:{now:%Y-%m-%d}"


def _app_key(now: datetime) -> str:
    return f"qboi:reads:app:{now:%Y-%m}"


def _app_total_key(now: datetime) -> str:
    return f"qboi:reads:app:{now:%Y-%m}:total"


def _deferred_key(company_id: Any, now: datetime) -> str:
    return f"qboi:reads:deferred:{company_id}:{now:%Y-%m-%d}"


def _app_deferred_key(now: datetime) -> str:
    return f"qboi:reads:deferred:app:{now:%Y-%m}"


def _ints(raw: dict[Any, Any] | None) -> dict[str, int]:
    return {(k.decode() if isinstance(k, bytes) else str(k)): int(v) for k, v in (raw or {}).items()}


async def count_read(redis: Any, company_id: Any, now: datetime | None = None, *,
                     purpose: str = purposes.OTHER) -> int:
    """Count one read; returns the app's reads this month, this one included."""
    now = now or utc_now()
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(_key(company_id, now))
        pipe.expire(_key(company_id, now), KEEP_SECONDS)
        pipe.hincrby(_day_key(company_id, now), purpose, 1)
        pipe.expire(_day_key(company_id, now), KEEP_DAY_SECONDS)
        pipe.hincrby(_app_key(now), purpose, 1)
        pipe.expire(_app_key(now), KEEP_SECONDS)
        pipe.incr(_app_total_key(now))
        pipe.expire(_app_total_key(now), KEEP_SECONDS)
        results = await pipe.execute()
    return int(results[6])


async def count_deferred(redis: Any, company_id: Any, purpose: str, now: datetime | None = None) -> None:
    """A read not made because the app's budget is nearly used up (read_budget)."""
    now = now or utc_now()
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hincrby(_deferred_key(company_id, now), purpose, 1)
        pipe.expire(_deferred_key(company_id, now), KEEP_DAY_SECONDS)
        pipe.hincrby(_app_deferred_key(now), purpose, 1)
        pipe.expire(_app_deferred_key(now), KEEP_SECONDS)
        await pipe.execute()


async def reads_this_month(redis: Any, company_id: Any, now: datetime | None = None) -> int:
    return int(await redis.get(_key(company_id, now or utc_now())) or 0)


async def company_day(redis: Any, company_id: Any, now: datetime | None = None) -> dict[str, int]:
    """The company's reads today (UTC) by purpose."""
    return _ints(await redis.hgetall(_day_key(company_id, now or utc_now())))


async def deferred_today(redis: Any, company_id: Any, now: datetime | None = None) -> dict[str, int]:
    """The company's reads deferred today (UTC) by purpose."""
    return _ints(await redis.hgetall(_deferred_key(company_id, now or utc_now())))


async def app_month(redis: Any, now: datetime | None = None) -> dict[str, int]:
    """The app's reads this month by purpose."""
    return _ints(await redis.hgetall(_app_key(now or utc_now())))


async def app_month_total(redis: Any, now: datetime | None = None) -> int:
    return int(await redis.get(_app_total_key(now or utc_now())) or 0)


async def app_deferred(redis: Any, now: datetime | None = None) -> dict[str, int]:
    return _ints(await redis.hgetall(_app_deferred_key(now or utc_now())))
