"""Plain words, with the details behind a toggle (issue 29), at 1280 and 375 px: the dashboard speaks of
Sent / Waiting / Needs your attention (breaker, rate limit, dead letters and job kinds only under "Technical
details"); "Recently sent" is newest first, by name, and "Open in QuickBooks" opens that one record; the
two companies' time zones are named with a sample clock-in; sample data shows times in the company's zone
in words; the audit log says what happened and who did it, and a kept duplicate without JSON or ids."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.console.conftest import WIDTHS
from tests.console.first_hour import seed_first_hour
from tests.console.flows import script_errors, sign_in, wait_for_text

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1800)]

TECHNICAL = ("Dead-letter", "dead-letter", "Dead letter", "Circuit breaker", "breaker", "Rate-limit", "rate limit",
             "live_sync", "sync_now", "(cron)", "directory import (", "TimeActivit", "QuickBooks time activity")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def _seed_runs_and_records(sessionmaker, sandbox, cc, seeded) -> None:
    """Jobs of every kind, and the sent timecards' records in the sandbox (so "Open in QuickBooks" lands)."""
    from qbo_integration.sync.models import SyncJob

    now = datetime.now(UTC)
    async with sessionmaker() as s:
        for n, (kind, trigger) in enumerate((("timecards", "live_sync"), ("directory_import", "cron"),
                                             ("timecards", "sync_now"), ("directory_import", "connect"))):
            s.add(SyncJob(id=uuid.uuid4(), integration_id=cc.integration_id, company_id=cc.company_id, kind=kind,
                          trigger=trigger, status="completed", created_at=now - timedelta(minutes=10 + n),
                          completed_at=now - timedelta(minutes=9 + n), timecards_total=3 if kind == "timecards" else 0,
                          timecards_synced=3 if kind == "timecards" else 0))
        await s.commit()
    first_employee = next(iter(seeded.employees.items()))
    for n in range(len(seeded.synced)):
        r = await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={
            "Id": str(100 + n), "NameOf": "Employee", "TxnDate": "2026-12-01", "Hours": 8, "Minutes": 0,
            "EmployeeRef": {"value": first_employee[1], "name": first_employee[0]}, "Description": f"entry {n}"})
        assert r.status_code == 200, r.text


@pytest.mark.parametrize("viewport", WIDTHS)
async def test_the_console_speaks_plainly(viewport, probe_at, live, connected_company, make_token, sessionmaker,
                                          sandbox):
    cc = connected_company
    seeded = await seed_first_hour(sessionmaker, sandbox, cc)
    await _seed_runs_and_records(sessionmaker, sandbox, cc, seeded)
    probe = await probe_at(viewport)
    page = probe.page
    await sign_in(probe, live, make_token(cc.company_id), "dashboard")
    await page.wait_for_selector("#recently-synced li")

    # ---- the dashboard's default view: plain words only
    await page.wait_for_selector("#zone-note")
    shown = await page.inner_text("#view")
    for word in ("Sent today", "Waiting", "Needs your attention", "Recently sent to QuickBooks"):
        assert word in shown, word
    found = [w for w in TECHNICAL if w in shown]
    assert found == [], found
    assert "Live sync turned on: 3 of 3 timecard(s) sent" in shown
    assert "Directory refreshed from QuickBooks (scheduled)" in shown
    assert "could not be sent after several tries" in shown  # the dead letter, in words
    # the technical words are one click away
    await page.click("#technical summary")
    await page.wait_for_selector("#breaker", state="visible")
    technical = await page.inner_text("#technical")
    assert "Circuit breaker" in technical and "Rate-limit usage" in technical and "dead-lettered" in technical
    assert "timecards (live_sync)" in technical

    # ---- two time zones: named, with a sample clock-in in both (7:15 in Denver is 6:15 in Los Angeles)
    note = await page.inner_text("#zone-note")
    assert "Mountain Time" in note and "Pacific Time" in note, note
    assert "clock-in at 7:15 AM in CrewFlow shows as 6:15 AM in QuickBooks" in note, note

    # ---- recently sent: newest first, by name, and "Open in QuickBooks" opens that record
    days = await page.eval_on_selector_all("#recently-synced li", "ls => ls.map(l => l.textContent.match(/\\d{4}-\\d{2}-\\d{2}/)[0])")
    assert days == sorted(days, reverse=True) and len(days) == 10, days
    newest = page.locator(f"#recently-synced li[data-timecard-id='{seeded.synced[0]}']")
    assert await newest.locator("a.qbo-link").inner_text() == "Open in QuickBooks"
    async with page.context.expect_page() as opened:
        await newest.locator("a.qbo-link").click()
    record = await opened.value
    await record.wait_for_load_state()
    heading = await record.inner_text("h1")
    assert heading == "Time activity 100", heading
    body = await record.inner_text("body")
    assert "entry 0" in body and "entry 1" not in body and '{"' not in body
    await record.close()

    # ---- mapping: the same zone note; sample data in words, times in the company's zone
    await page.goto(live.console("mapping"))
    await page.wait_for_selector("#samples")
    await page.wait_for_selector("#zone-note")
    samples = await page.inner_text("#samples")
    assert "Start time" in samples and "StartTime" not in samples and "BillableStatus" not in samples, samples
    assert "7:15 AM MST" in samples, samples  # CrewFlow's clock-in, in Denver's time
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", samples), samples  # no raw ISO times

    # ---- the audit log: what happened, who did it, a kept duplicate in words
    await page.goto(live.console("audit"))
    await page.wait_for_selector("#audit-table tr.entry")
    rows = await page.inner_text("#audit-table tbody")
    assert "QuickBooks connected" in rows and "\tconnect\t" not in rows
    assert "Timecard not sent to QuickBooks" in rows
    who = await page.eval_on_selector_all("#audit-table td.who", "ts => ts.map(t => t.innerText.trim())")
    assert "You" in who and "CrewFlow integration (automatic)" in who, who
    kept = page.locator("#audit-table tr.entry", has_text="Two workers kept on one employee")
    await kept.click()
    details = page.locator("#audit-table tr.details:not([hidden])")
    await details.wait_for()
    words = await details.inner_text()
    shouty = next(name for name, wid in seeded.workers.items() if wid == seeded.shouty)
    assert f"gets the hours of {shouty} and" in words, words
    assert not UUID.search(words) and "{" not in words, words
    await wait_for_text(page, "#audit-table tr.details:not([hidden])", "Technical details")
    assert not script_errors(probe)
