"""One truth per state, and the small traps (issue 29), at 1280 and 375 px: after a disconnect and reconnect
live sync is off, and the dashboard and the setup checklist say so (with when each step was first done);
the 48-hour bar has a label; the directory's counts agree with the import's; "Enable live sync" is not
offered before a dry run passes; Sync Now is disabled while its job runs and says what is happening; the
audit log's timecard filter lists every timecard and clears old results when a name is not found."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.console.conftest import WIDTHS
from tests.console.first_hour import seed_first_hour
from tests.console.flows import script_errors, sign_in, wait_for_text

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1800)]


@pytest.mark.parametrize("viewport", WIDTHS)
async def test_states_agree_and_the_traps_are_gone(viewport, probe_at, live, connected_company, make_token,
                                                   sessionmaker, sandbox):
    from qbo_integration.monitoring.setup import mark_step
    from qbo_integration.sync.models import SyncJob

    cid = connected_company.company_id
    seeded = await seed_first_hour(sessionmaker, sandbox, connected_company)
    async with sessionmaker() as s:  # set up once, then disconnected and reconnected: live sync is off again
        for step in ("connected", "directory_imported", "mapping_saved", "dry_run_passed", "live_sync_enabled"):
            await mark_step(s, cid, step)
        await s.commit()
    probe = await probe_at(viewport)
    page = probe.page
    await sign_in(probe, live, make_token(cid), "setup")

    # ---- the checklist: when each step was first done, and how the ones that can be undone stand now
    live_step = "#checklist li[data-step=live_sync_enabled]"
    await page.wait_for_selector(live_step)
    text = await page.inner_text(live_step)
    assert "first done" in text and "Now: off" in text, text
    assert "lapsed" in (await page.get_attribute(live_step, "class") or "")
    assert "Now: connected" in await page.inner_text("#checklist li[data-step=connected]")
    # the 48-hour bar has a visible label, and the meter is named by it
    label = await page.inner_text("#setup-clock-label")
    assert "48-hour setup clock" in label and "% of the 48-hour setup time used" in label, label
    assert await page.get_attribute("#setup-clock [role=meter]", "aria-labelledby") == "setup-clock-label"

    # ---- the dashboard agrees: not "Healthy" while nothing is sent
    await page.goto(live.console("dashboard"))
    await page.wait_for_selector("#health-status")
    assert await page.get_attribute("#health-status", "data-status") == "degraded"
    assert "Live sync is off" in await page.inner_text("#health-status")

    # ---- the directory's counts and the import's words count the same records
    await page.goto(live.console("mapping"))
    await page.wait_for_selector("#directory-counts")
    employees, vendors = len(seeded.employees), 3
    counts = await page.inner_text("#directory-counts")
    assert f"{employees} employees, {vendors} vendors" in counts, counts
    words = await page.evaluate("""n => import('/console/js/pages/mapping.js').then(m => m.importWords(
        {directory: {Employee: {created: 0, updated: 0, unchanged: n}, Vendor: {created: 0, updated: 3, unchanged: 0}}}))""",
                                employees)
    assert f"{employees} employees, {vendors} vendors (3 updated)" in words, words

    # ---- test mode: live sync is not offered until a dry run passes
    await page.goto(live.console("test"))
    await page.wait_for_selector("#enable-live")
    assert await page.is_disabled("#enable-live")
    assert "primary" not in (await page.get_attribute("#enable-live", "class") or "")
    assert "Run a dry run first" in await page.inner_text("#live-sync")
    await page.click("#run-dry-run")
    await page.wait_for_selector("#dry-run-out .msg-ok")
    assert "Next: enable live sync" in await page.inner_text("#dry-run-out")
    await page.wait_for_function("!document.querySelector('#enable-live').disabled")
    assert "primary" in (await page.get_attribute("#enable-live", "class") or "")
    await page.click("#enable-live")
    await wait_for_text(page, "#live-sync-state", "on", exact=True)

    # ---- Sync Now: disabled while its job runs, in words; done, it says what happened and what next
    await page.goto(live.console("dashboard"))
    await page.wait_for_selector("#sync-now:not([disabled])")
    await page.click("#sync-now")
    await wait_for_text(page, "#sync-out", "waiting for its turn")  # no worker here: the job stays pending
    assert await page.is_disabled("#sync-now")
    assert "0 synced" not in await page.inner_text("#sync-out")
    await page.reload()  # a job already running when the page opens: still disabled
    await page.wait_for_selector("#health-status")
    await page.wait_for_function("document.querySelector('#sync-now').disabled")
    async with sessionmaker() as s:
        await s.execute(update(SyncJob).where(SyncJob.company_id == cid, SyncJob.trigger == "sync_now")
                        .values(status="completed", timecards_total=3, timecards_synced=2, timecards_failed=1))
        await s.commit()
    await wait_for_text(page, "#sync-out", "Done: 2 timecard(s) sent to QuickBooks; 1 could not be sent")
    await page.wait_for_selector("#sync-now:not([disabled])")
    assert "Needs your attention" in await page.inner_text("#sync-out")
    await page.click("#refresh")  # (health answers are kept a second: the refresh after the job may be older)
    await wait_for_text(page, "#recent-runs", "Sync Now: 2 of 3 timecard(s) sent, 1 not sent")

    # ---- the audit log's timecard filter: every timecard listed; a name not found clears old results
    await page.goto(live.console("audit"))
    await page.wait_for_selector("#audit-table tr.entry")
    options = await page.eval_on_selector_all("#f-timecardId-list option", "os => os.map(o => o.value)")
    assert len(options) == len(seeded.timecards) == 30, len(options)
    await page.fill("#f-timecardId", options[0])
    await page.click("#audit-filters button[type=submit]")
    await wait_for_text(page, "#page-info", "· 1 entries")
    await page.fill("#f-timecardId", "Nobody at all")
    await page.click("#audit-filters button[type=submit]")
    await wait_for_text(page, "#audit-out", 'Nothing is called "Nobody at all"')
    assert await page.locator("#audit-table tr.entry").count() == 0
    assert await page.text_content("#audit-pager") == ""
    assert not script_errors(probe)


@pytest.mark.parametrize("viewport", WIDTHS)
async def test_the_connect_steps_back_and_a_fresh_connection_agree(viewport, probe_at, live, company, make_token,
                                                                   sandbox, sandbox_server):
    import re

    from tests.console.flows import new_realm

    realm = await new_realm(sandbox, "Stepper Co")
    probe = await probe_at(viewport)
    page = probe.page
    await sign_in(probe, live, make_token(company.id), "connect")

    # ---- "Deny" at QuickBooks: step 2 failed, and the page says not connected
    await page.click("#connect-button")
    await page.select_option("#realmId", realm["realmId"])
    await page.click("button[value=deny]")
    await page.wait_for_url("**/console/#/connect-failed?reason=access_denied")
    await page.wait_for_selector("#stepper li[data-state=failed]")
    states = await page.eval_on_selector_all("#stepper li", "ls => ls.map(l => l.dataset.state)")
    assert states == ["done", "failed", "todo"], states
    assert "not approved" in await page.inner_text("#stepper li[data-state=failed]")
    assert "QuickBooks is not connected" in await page.inner_text("#view")

    # ---- "Try again", then Back from QuickBooks' page: a fresh step 1, not the old error
    await page.click("#connect-button")
    await page.wait_for_url(re.compile(re.escape(sandbox_server.base_url) + r"/connect/oauth2"))
    await page.go_back()
    await page.wait_for_url(re.compile(r"/console/#/connect$"))
    await page.wait_for_selector("#connect-button:not([disabled])")
    await wait_for_text(page, "#connect-button", "Connect to QuickBooks", exact=True)
    states = await page.eval_on_selector_all("#stepper li", "ls => ls.map(l => l.dataset.state)")
    assert states == ["current", "todo", "todo"], states
    assert "not approved" not in await page.inner_text("#view")

    # ---- connected: every step done, and no "Reconnect" beside a connection made seconds ago
    await page.click("#connect-button")
    await page.select_option("#realmId", realm["realmId"])
    await page.click("button[value=approve]")
    await page.wait_for_url(re.compile(r"/console/#/connected\?realmId=" + realm["realmId"]))
    await page.wait_for_selector("#test-result .msg")
    states = await page.eval_on_selector_all("#stepper li", "ls => ls.map(l => l.dataset.state)")
    assert states == ["done", "done", "done"], states
    assert "Reconnect" not in await page.inner_text("#view")
    assert script_errors(probe) == []
