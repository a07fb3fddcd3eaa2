"""Issue 18's first finding, in the browser at 1280 and 375 px: approved timecards not yet sent count as
Pending on the dashboard (not "0 pending, 0 synced" as if done), and enabling live sync says how many
it queued at once instead of leaving them for Sync Now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.console.conftest import WIDTHS
from tests.console.flows import script_errors, sign_in, wait_for_text
from tests.mapping.factories import add_profile, add_project, add_timecard, add_worker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]


@pytest.mark.parametrize("viewport", WIDTHS)
async def test_the_backlog_is_pending_and_enabling_live_sync_queues_it(viewport, probe_at, live, connected_company,
                                                                       make_token, sessionmaker):
    cid = connected_company.company_id
    yesterday = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0) - timedelta(days=1)
    async with sessionmaker() as s:  # mapped through the import's links (QBO Employee 1, Customer 1)
        w = add_worker(s, cid, "Ana Lopez", "ana@acme.test", qbo="1")
        p = add_project(s, cid, "Depot Roof", qbo="1")
        add_profile(s, cid, {"hourlyRates": {"default": 60}})
        await s.flush()
        for day in range(2):
            start = yesterday - timedelta(days=day)
            add_timecard(s, cid, w, p, clock_in=start, clock_out=start + timedelta(hours=8), billable=False)
        await s.commit()
    probe = await probe_at(viewport)
    page = probe.page
    await sign_in(probe, live, make_token(cid), "dashboard")
    await wait_for_text(page, "#pending .tile-value", "2", exact=True)

    await page.goto(live.console("test"))
    await page.wait_for_selector("#run-dry-run")
    await page.click("#run-dry-run")
    await page.wait_for_selector("#dry-run-out .msg")
    assert await page.locator("#dry-run-out .msg-ok").count() == 1, await page.text_content("#dry-run-out")
    await page.click("#enable-live")
    await page.wait_for_selector("#live-out .msg-ok")
    assert "2 approved timecards queued for QuickBooks now" in await page.text_content("#live-out")
    await wait_for_text(page, "#live-sync-state", "on", exact=True)

    await page.goto(live.console("dashboard"))  # no worker in this test: still waiting, still counted
    await wait_for_text(page, "#pending .tile-value", "2", exact=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"the page scrolls sideways at {viewport['width']} px ({width})"
    assert not script_errors(probe)
