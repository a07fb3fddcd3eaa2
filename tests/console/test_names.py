"""Names instead of ids: GET console/overview (company, recently synced with a QuickBooks link) and GET
console/names over HTTP, then the header, the dashboard's "Recently synced" list and the audit log's
name filter (autocomplete) in the browser at 1280 and 375 px."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.console.conftest import WIDTHS
from tests.console.flows import script_errors, sign_in, wait_for_text
from tests.mapping.factories import add_project, add_timecard, add_worker

OVERVIEW = "/api/v1/integrations/quickbooks/console/overview"
NAMES = "/api/v1/integrations/quickbooks/console/names"
# 04:30 UTC on 3 Nov is still 2 Nov in Denver (the company's zone): the label says the 2nd.
CLOCK_IN = datetime(2026, 11, 3, 4, 30, tzinfo=UTC)


async def _seed(sessionmaker, company_id: uuid.UUID) -> dict:

    async with sessionmaker() as s:
        w = add_worker(s, company_id, "Rita Rivets")
        p = add_project(s, company_id, "Depot Roof")
        other = add_worker(s, company_id, "Sam Spade")
        await s.flush()
        tc = add_timecard(s, company_id, w, p, clock_in=CLOCK_IN, clock_out=CLOCK_IN.replace(hour=12))
        tc.sync_status, tc.qbo_id, tc.qbo_synced_at = "synced", "4242", datetime(2026, 11, 4, tzinfo=UTC)
        await s.commit()
        return {"worker": w.id, "project": p.id, "timecard": tc.id, "other": other.id}


async def test_overview_and_names_over_http(client, connected_company, auth_headers, sessionmaker, make_token, settings):
    cid = connected_company.company_id
    ids = await _seed(sessionmaker, cid)
    r = await client.get(OVERVIEW, params={"companyId": str(cid)}, headers=auth_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["company"] == {"id": str(cid), "name": "Acme Builders", "timezone": "America/Denver"}
    [synced] = body["recentlySynced"]
    assert synced["label"] == "Rita Rivets · Depot Roof · 2026-11-02 · 7.5 h"
    assert synced["qboId"] == "4242" and synced["syncedAt"] == "2026-11-04T00:00:00Z"
    assert synced["qboUrl"].endswith(f"/_sandbox/realms/{connected_company.realm_id}/entities/TimeActivity/4242")

    r = await client.get(NAMES, params={"companyId": str(cid), "timecardId": [str(ids["timecard"]), str(uuid.uuid4())],
                                        "workerId": [str(ids["worker"]), str(ids["other"])],
                                        "projectId": str(ids["project"])}, headers=auth_headers)
    assert r.status_code == 200, r.text
    names = r.json()
    assert list(names["timecards"]) == [str(ids["timecard"])]  # an unknown id is simply absent
    assert names["workers"] == {str(ids["worker"]): "Rita Rivets", str(ids["other"]): "Sam Spade"}
    assert names["projects"] == {str(ids["project"]): "Depot Roof"}

    # another company's token sees nothing of this one; bad ids are a 422 in words
    stranger = uuid.uuid4()
    r = await client.get(NAMES, params={"companyId": str(cid), "timecardId": str(ids["timecard"])},
                         headers={"Authorization": f"Bearer {make_token(stranger)}"})
    assert r.status_code == 403
    r = await client.get(NAMES, params={"companyId": str(cid), "workerId": "Rita"}, headers=auth_headers)
    assert r.status_code == 422 and "workerId" in r.json()["error"]["message"]
    r = await client.get(NAMES, params={"companyId": str(cid), "timecardId": [str(uuid.uuid4()) for _ in range(201)]},
                         headers=auth_headers)
    assert r.status_code == 422


@pytest.mark.browser
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("viewport", WIDTHS)
async def test_names_in_the_header_dashboard_and_audit(viewport, probe_at, live, connected_company, make_token,
                                                       sessionmaker):
    from qbo_integration.monitoring import audit

    cid = connected_company.company_id
    ids = await _seed(sessionmaker, cid)
    async with sessionmaker() as s:
        for worker in (ids["worker"], ids["other"]):
            await audit.record(s, integration_id=connected_company.integration_id, company_id=cid,
                               action="sync_timecard", status="success", worker_id=worker, project_id=ids["project"],
                               timecard_id=ids["timecard"] if worker == ids["worker"] else None, qbo_id="4242")
        await s.commit()
    probe = await probe_at(viewport)
    page = probe.page
    await sign_in(probe, live, make_token(cid), "dashboard")
    await wait_for_text(page, "#token-who", "Acme Builders")
    await page.wait_for_selector("#recently-synced li")
    item = page.locator(f"#recently-synced li[data-timecard-id='{ids['timecard']}']")
    assert "Rita Rivets · Depot Roof · 2026-11-02 · 7.5 h" in await item.text_content()
    href = await item.locator("a.qbo-link").get_attribute("href")
    assert href and href.endswith("/entities/TimeActivity/4242")

    await page.goto(live.console("audit"))
    await page.wait_for_selector("#audit-table tr.entry, #audit-out .msg, #view > .msg-error")
    assert not script_errors(probe)
    assert await page.locator("#audit-table tr.entry").count() == 2, await page.text_content("#view")
    assert await page.locator("#audit-table tr.entry").count() == 2
    assert "Timecard sent to QuickBooks" in await page.text_content("#audit-table tbody")
    options = await page.eval_on_selector_all("#f-workerId-list option", "os => os.map(o => o.value)")
    assert "Rita Rivets" in options and "Sam Spade" in options
    await page.fill("#f-workerId", "sam")  # the start of a name is enough when only one fits
    await page.click("#audit-filters button[type=submit]")
    await wait_for_text(page, "#page-info", "1 entries")
    await page.click("#audit-table tr.entry")
    assert await page.text_content("#audit-table tr.details:not([hidden]) .worker-name") == "Sam Spade"
    assert await page.locator("#audit-table .mono").count() == 0  # no raw ids in the rows
    assert not script_errors(probe)
