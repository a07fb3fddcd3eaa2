"""The console's read routes added for issue 29, over HTTP: both companies' time zones with a sample
clock-in (GET console/zones), timecards found by name for the audit log's filter (GET console/timecards),
and "Recently synced" newest first when a batch wrote many at one instant (GET console/overview)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.mapping.factories import add_project, add_timecard, add_worker

P = "/api/v1/integrations/quickbooks"
CLOCK_IN = datetime(2026, 12, 2, 14, 15, tzinfo=UTC)  # 7:15 in Denver (CrewFlow), 6:15 in Los Angeles (QuickBooks)


async def test_zones_name_both_companies_and_a_sample(client, connected_company, auth_headers, sessionmaker,
                                                      sandbox):
    cid = connected_company.company_id
    async with sessionmaker() as s:
        w = add_worker(s, cid, "Tom Bennett")
        p = add_project(s, cid, "Riverside Lofts")
        await s.flush()
        tc = add_timecard(s, cid, w, p, clock_in=CLOCK_IN, clock_out=CLOCK_IN + timedelta(hours=8))
        await s.commit()
    r = await client.get(f"{P}/console/zones", params={"companyId": str(cid)}, headers=auth_headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"crewflow": "America/Denver", "quickbooks": "America/Los_Angeles",
                        "sample": {"timecardId": str(tc.id), "worker": "Tom Bennett", "clockIn": "2026-12-02T14:15:00Z"}}
    # kept for an hour: QuickBooks is not asked again on every page
    moved = await sandbox.put(f"/_sandbox/realms/{connected_company.realm_id}/preferences",
                              json={"DefaultTimeZone": "America/Denver"})
    assert moved.status_code == 200, moved.text
    again = await client.get(f"{P}/console/zones", params={"companyId": str(cid)}, headers=auth_headers)
    assert again.json()["quickbooks"] == "America/Los_Angeles"


async def test_zones_without_a_connection(client, company, auth_headers):
    r = await client.get(f"{P}/console/zones", params={"companyId": str(company.id)}, headers=auth_headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"crewflow": "America/Denver", "quickbooks": None, "sample": None}


async def test_timecards_are_found_by_worker_project_or_date(client, company, auth_headers, sessionmaker):
    async with sessionmaker() as s:
        rita = add_worker(s, company.id, "Rita Rivets")
        sam = add_worker(s, company.id, "Sam 100%_Spade")
        depot = add_project(s, company.id, "Depot Roof")
        await s.flush()
        for i in range(30):
            start = CLOCK_IN - timedelta(days=i)
            add_timecard(s, company.id, rita if i % 3 else sam, depot, clock_in=start, clock_out=start + timedelta(hours=8),
                         status="approved" if i % 2 else "draft")
        await s.commit()
    find = f"{P}/console/timecards"
    everything = (await client.get(find, params={"companyId": str(company.id)}, headers=auth_headers)).json()
    assert len(everything["timecards"]) == 30 and everything["more"] is False  # all of them, any status
    assert everything["timecards"][0]["label"] == "Sam 100%_Spade · Depot Roof · 2026-12-02 · 7.5 h"  # newest first
    sams = (await client.get(find, params={"companyId": str(company.id), "q": "100%_"}, headers=auth_headers)).json()
    assert len(sams["timecards"]) == 10  # % and _ are letters here, not wildcards
    label = "Rita Rivets · Depot Roof · 2026-11-30 · 7.5 h"
    typed = (await client.get(find, params={"companyId": str(company.id), "q": label}, headers=auth_headers)).json()
    assert [t["label"] for t in typed["timecards"]] == [label]
    none = (await client.get(find, params={"companyId": str(company.id), "q": "Nobody"}, headers=auth_headers)).json()
    assert none == {"timecards": [], "more": False}


async def test_recently_synced_in_one_batch_is_newest_work_first(client, connected_company, auth_headers,
                                                                 sessionmaker):
    cid = connected_company.company_id
    batch = datetime(2026, 12, 3, 12, tzinfo=UTC)
    async with sessionmaker() as s:
        w = add_worker(s, cid, "Rita Rivets")
        p = add_project(s, cid, "Depot Roof")
        await s.flush()
        for day in range(12):
            start = CLOCK_IN - timedelta(days=day)
            tc = add_timecard(s, cid, w, p, clock_in=start, clock_out=start + timedelta(hours=8))
            tc.sync_status, tc.qbo_id, tc.qbo_synced_at = "synced", str(day + 1), batch
        await s.commit()
    r = await client.get(f"{P}/console/overview", params={"companyId": str(cid)}, headers=auth_headers)
    dates = [t["date"] for t in r.json()["recentlySynced"]]
    assert dates == sorted(dates, reverse=True) and dates[0] == "2026-12-02" and len(dates) == 10
