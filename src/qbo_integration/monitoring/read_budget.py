"""The app's monthly QBO read budget (Intuit's CorePlus cap, shared by every customer company).

Past the cap Intuit answers every company 429 until the month ends and shows the app as offline, so
near it the reads that can wait stop first: at 85 % the nightly reconciliation and directory refreshes,
at 95 % drift checks too. Reads that protect correctness (settling a write whose answer was lost, a
stale SyncToken, the books' preferences, connecting, the first directory import, test mapping) are
never deferred. An alert goes out once a month at each of 70, 85 and 95 %. Health shows what was
deferred (read_meter.deferred_today).

The budget is set once at start-up (`configure`, from QBO_READ_BUDGET_MONTHLY by services.build_services).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from qbo_integration.clock import utc_now
from qbo_integration.monitoring import read_meter
from qbo_integration.qbo import purpose as purposes

logger = logging.getLogger(__name__)

DEFAULT_MONTHLY = 500_000  # Intuit's free Builder tier
ALERT_PERCENTS = (70, 85, 95)
# Percent of the month's budget from which a purpose's reads are deferred; a purpose not listed never is.
DEFER_FROM = {purposes.RECONCILIATION: 85.0, purposes.DIRECTORY_REFRESH: 85.0, purposes.DRIFT_CHECK: 95.0}

_monthly = DEFAULT_MONTHLY


def configure(monthly: int) -> None:
    global _monthly
    _monthly = max(1, int(monthly))


def monthly() -> int:
    return _monthly


def percent(total: int, budget: int | None = None) -> float:
    return 100.0 * total / (budget or _monthly)


async def may_read(redis: Any, company_id: uuid.UUID | str, purpose: str, *, reads: int = 1,
                   now: datetime | None = None) -> bool:
    """Whether reads of this purpose may be made now; a refusal is counted as deferred for the company."""
    threshold = DEFER_FROM.get(purpose)
    if threshold is None or redis is None:
        return True
    now = now or utc_now()
    used = await read_meter.app_month_total(redis, now)
    if percent(used + reads - 1) < threshold:
        return True
    await read_meter.count_deferred(redis, company_id, purpose, now)
    logger.warning("QBO read deferred: the app's monthly read budget is at %.1f%%", percent(used),
                   extra={"fields": {"company_id": str(company_id), "purpose": purpose}})
    return False


def crossed(total: int, budget: int | None = None) -> int | None:
    """The alert percent this read reached exactly (the read that takes the month past it), else None."""
    budget = budget or _monthly
    for pct in ALERT_PERCENTS:
        mark = -(-budget * pct // 100)  # the first read at or past pct
        if total == mark:
            return pct
    return None


async def status(redis: Any, now: datetime | None = None) -> dict[str, Any]:
    """The app's month: reads, budget, percent, by purpose, deferred by purpose."""
    now = now or utc_now()
    total = await read_meter.app_month_total(redis, now)
    return {"month": f"{now:%Y-%m}", "reads": total, "budget": _monthly, "percent": round(percent(total), 2),
            "byPurpose": await read_meter.app_month(redis, now), "deferred": await read_meter.app_deferred(redis, now)}
