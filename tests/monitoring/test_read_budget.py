"""The app's QBO read budget: reads counted by purpose per company per day and per app per month, alerts
at 70/85/95 %, and near the limit the reads that can wait are deferred (never settling a write)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from qbo_integration.monitoring import read_budget, read_meter
from qbo_integration.monitoring.models import AlertOutbox
from qbo_integration.qbo import purpose as purposes
from qbo_integration.qbo.purpose import reading_for


@pytest.fixture
def small_budget():
    yield read_budget.configure
    read_budget.configure(read_budget.DEFAULT_MONTHLY)


async def test_reads_are_counted_by_purpose_for_the_company_and_the_app(services, connected_company, redis):
    cid = connected_company.company_id
    client = services.qbo.company(cid, connected_company.realm_id)
    day_before, app_before = await read_meter.company_day(redis, cid), await read_meter.app_month(redis)
    total_before = await read_meter.app_month_total(redis)
    with reading_for(purposes.CONNECTION_TEST):
        await client.company_info()
        with reading_for(purposes.PREFERENCES):  # the innermost tag wins
            await client.preferences()
    await client.company_info()  # untagged: counted as "other", so it shows
    day = await read_meter.company_day(redis, cid)
    for purpose in (purposes.CONNECTION_TEST, purposes.PREFERENCES, purposes.OTHER):
        assert day[purpose] == day_before.get(purpose, 0) + 1
        assert (await read_meter.app_month(redis))[purpose] == app_before.get(purpose, 0) + 1
    assert await read_meter.app_month_total(redis) == total_before + 3


def test_each_alert_threshold_is_crossed_by_exactly_one_read():
    hits = [(n, read_budget.crossed(n, 1000)) for n in range(1, 1001)]
    assert [(n, pct) for n, pct in hits if pct is not None] == [(700, 70), (850, 85), (950, 95)]
    assert read_budget.crossed(7, 10) == 70 and read_budget.crossed(9, 10) == 85  # 8.5 rounds up


async def test_the_alert_goes_out_app_wide_once_per_threshold(services, sessionmaker):
    observer = services.qbo.observer
    await observer._budget_alert(85, 425_000)
    await observer._budget_alert(85, 425_001)  # a second process racing: the alert's dedupe holds
    async with sessionmaker() as s:
        rows = (await s.execute(select(AlertOutbox).where(AlertOutbox.kind == "qbo_read_budget"))).scalars().all()
    assert len(rows) == 1
    assert rows[0].company_id is None and "85%" in rows[0].subject and "deferred" in rows[0].body


async def test_near_the_limit_reads_that_can_wait_are_deferred_and_health_says_so(
        client, auth_headers, services, connected_company, redis, small_budget):
    cid = connected_company.company_id
    await services.qbo.company(cid, connected_company.realm_id).company_info()
    for _ in range(max(0, 20 - await read_meter.app_month_total(redis))):
        await read_meter.count_read(redis, cid, purpose=purposes.DIRECTORY_IMPORT)
    used = await read_meter.app_month_total(redis)
    small_budget(round(used / 0.9))  # 90 %: past 85, short of 95
    assert not await read_budget.may_read(redis, cid, purposes.RECONCILIATION)
    assert not await read_budget.may_read(redis, cid, purposes.DIRECTORY_REFRESH)
    assert await read_budget.may_read(redis, cid, purposes.DRIFT_CHECK)
    assert await read_budget.may_read(redis, cid, purposes.SETTLE_UNKNOWN_WRITE)
    small_budget(max(1, used))  # 100 %
    assert not await read_budget.may_read(redis, cid, purposes.DRIFT_CHECK)
    for never in (purposes.SETTLE_UNKNOWN_WRITE, purposes.PREFERENCES, purposes.CONNECTION_TEST,
                  purposes.DIRECTORY_IMPORT, purposes.MAPPING_CHECK):
        assert await read_budget.may_read(redis, cid, never)
    body = (await client.get("/api/v1/integrations/quickbooks/health", params={"companyId": str(cid)},
                             headers=auth_headers)).json()
    assert body["qboReadsDeferredToday"] == {"reconciliation": 1, "directory_refresh": 1, "drift_check": 1}
    assert body["qboReadBudget"]["deferring"] == ["directory_refresh", "drift_check", "reconciliation"]
    assert any("deferred today" in r for r in body["reasons"]) and body["status"] == "degraded"
    assert body["qboReadsToday"].get("other", 0) >= 1
