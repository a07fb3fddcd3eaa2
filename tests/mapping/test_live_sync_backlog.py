"""Pending is the truth (issue 18): approved timecards with no outbox row yet count as pending, from the
sync start date on, and turning live sync on queues that backlog at once and says how many."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from qbo_integration.connections.models import Integration
from qbo_integration.sync.models import SyncJob, TimecardSyncRecord
from tests.mapping.test_dry_run import _setup

API = "/api/v1/integrations/quickbooks"
RATES = {"default": 65}  # billable time needs a bill rate (QBO refuses it without HourlyRate)


async def _health(client, auth_headers, cid):
    r = await client.get(f"{API}/health", params={"companyId": str(cid)}, headers=auth_headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_backlog_is_pending_and_enabling_live_sync_queues_it(client, auth_headers, imported, sessionmaker,
                                                                   redis):
    cid, lone, cc, good, bad_worker, inactive = await _setup(sessionmaker, imported)
    async with sessionmaker() as s:  # the 2 July timecard is before the sync start date; 3, 4 July and 1 August count
        (await s.get(Integration, imported.integration_id)).sync_start_date = date(2026, 7, 3)
        await s.commit()
    mapping = {"costCodeMapping": [{"crewflowCostCodeId": str(cc.id), "qboServiceItemId": "1"}],
               "hourlyRates": RATES,
               "employeeMapping": [{"crewflowWorkerId": str(lone.id), "qboEmployeeId": "2"}]}
    assert (await client.put(f"{API}/mapping", json={"companyId": str(cid), "mapping": mapping,
                                                     "confirmDuplicates": True}, headers=auth_headers)).status_code == 200
    run = (await client.post(f"{API}/dry-run", headers=auth_headers,
                             json={"companyId": str(cid), "startDate": "2026-07-01", "endDate": "2026-07-31"})).json()
    assert run["passed"] is True, run

    assert (await _health(client, auth_headers, cid))["pendingTimecards"] == 3  # no outbox row yet, still pending

    r = await client.post(f"{API}/live-sync", json={"companyId": str(cid), "enabled": True}, headers=auth_headers)
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is True and r.json()["queued"] == 3
    assert "3 approved timecards queued" in r.json()["message"]
    async with sessionmaker() as s:
        rows = {row.timecard_id: row.state for row in (await s.execute(
            select(TimecardSyncRecord).where(TimecardSyncRecord.company_id == cid))).scalars()}
        job = (await s.execute(select(SyncJob).where(SyncJob.company_id == cid, SyncJob.kind == "timecards"))
               ).scalar_one()
    # The job re-derives the company's outbox (issue 17: not the request, whose cost would grow with history)
    assert rows == {} and job.params == {"timecardIds": [], "rederive": True}
    assert job.trigger == "live_sync" and job.status == "pending"
    assert await redis.keys(f"arq:job:sync:{cid}:now:{job.id}")  # a worker picks it up now, not at the next sweep
    assert (await _health(client, auth_headers, cid))["pendingTimecards"] == 3  # the same timecards, still waiting

    off = await client.post(f"{API}/live-sync", json={"companyId": str(cid), "enabled": False}, headers=auth_headers)
    assert off.json() == {"enabled": False, "queued": 0,
                          "message": "Live sync is off: approved timecards wait until it is turned back on"}
