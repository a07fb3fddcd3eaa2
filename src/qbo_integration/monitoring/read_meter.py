"""QBO read calls per company per calendar month (UTC), shared by every process through Redis.

Intuit meters reads (queries, reads by id, CDC) under its partner program, with a monthly cap on the
entry tier; writes are free. Health shows the month's count, /metrics the running counter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

KEEP_SECONDS = 40 * 86400  # past the end of the month it counts


def _key(company_id: Any, now: datetime) -> str:
    return f"qboi:reads:{company_id}:{now:%Y-%m}"


async def count_read(redis: Any, company_id: Any, now: datetime | None = None) -> None:
    key = _key(company_id, now or datetime.now(UTC))
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.expire(key, KEEP_SECONDS)
        await pipe.execute()


async def reads_this_month(redis: Any, company_id: Any, now: datetime | None = None) -> int:
    return int(await redis.get(_key(company_id, now or datetime.now(UTC))) or 0)
