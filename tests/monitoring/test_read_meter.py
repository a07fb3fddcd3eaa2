"""Every QBO read call is counted per company and month (Intuit meters reads), writes are not."""

from __future__ import annotations

from prometheus_client import REGISTRY

from qbo_integration.monitoring import read_meter


def _metric(company_id) -> float:
    return REGISTRY.get_sample_value("qbo_api_read_calls_total", {"company_id": str(company_id)}) or 0.0


async def test_reads_are_counted_and_writes_are_not(services, connected_company, redis):
    cid = connected_company.company_id
    client = services.qbo.company(cid, connected_company.realm_id)
    before = await read_meter.reads_this_month(redis, cid)
    metric_before = _metric(cid)
    await client.company_info()  # GET
    employees = await client.employees()  # a query (GET, or POST when long)
    assert employees
    assert await read_meter.reads_this_month(redis, cid) == before + 2
    assert _metric(cid) == metric_before + 2

    ta = await client.create_time_activity({
        "NameOf": "Employee", "EmployeeRef": {"value": employees[0].to_qbo()["Id"]}, "TxnDate": "2026-03-02",
        "Hours": 1, "Minutes": 0}, request_id="read-meter-write-1")
    assert ta.to_qbo()["Id"]
    assert await read_meter.reads_this_month(redis, cid) == before + 2  # the write is free


async def test_health_shows_the_months_reads(client, auth_headers, services, connected_company, redis):
    cid = connected_company.company_id
    await services.qbo.company(cid, connected_company.realm_id).company_info()
    body = (await client.get("/api/v1/integrations/quickbooks/health", params={"companyId": str(cid)},
                             headers=auth_headers)).json()
    assert body["qboReadsThisMonth"] == await read_meter.reads_this_month(redis, cid) >= 1
