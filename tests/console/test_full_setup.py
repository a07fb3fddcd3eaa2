"""The whole setup in a real browser against the real stack (API over HTTP, an arq worker process, the
sandbox): connect → import → map by dragging → test mapping → dry run → enable live sync → a timecard
approved through the event bus → the dashboard shows it synced without a reload. Screenshots of every
page go to test-artifacts/console/."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from qbo_integration.core_platform.events import channel
from tests.console.conftest import TABLET
from tests.console.flows import connect_via_consent, new_realm, script_errors, sign_in, wait_for_text
from tests.mapping.factories import add_cost_code, add_project, add_timecard, add_worker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(2400)]


async def _entity(sandbox, realm_id: str, entity: str, **match: str) -> dict:
    items = (await sandbox.get(f"/_sandbox/realms/{realm_id}/entities/{entity}")).json()["items"]
    for it in items:
        if all(str(it.get(k)) == v for k, v in match.items()):
            return it
    raise AssertionError(f"no {entity} matching {match}")


async def _core_records(sessionmaker, company_id: uuid.UUID) -> dict:
    """A worker, project and cost code whose names match nothing in QuickBooks (so the admin drags them),
    and one approved timecard from yesterday to test and dry-run with."""
    yesterday = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0) - timedelta(days=1)
    async with sessionmaker() as s:
        w = add_worker(s, company_id, "Jay Crew-Lead", "jay.lead@acme.test")
        p = add_project(s, company_id, "Showroom build-out")
        c = add_cost_code(s, company_id, "01-100", "Framing crew")
        await s.flush()
        tc = add_timecard(s, company_id, w, p, c, clock_in=yesterday, clock_out=yesterday + timedelta(hours=8, minutes=30),
                          notes="Walls, level 2")
        await s.commit()
        return {"worker": w.id, "project": p.id, "cost_code": c.id, "timecard": tc.id}


async def _drag(page, source: str, target: str) -> None:
    await page.locator(source).drag_to(page.locator(target))


async def test_full_setup_in_the_browser(probe, live, worker, company, make_token, sandbox, sandbox_server,
                                        sessionmaker, redis):
    from qbo_integration.core_platform.models import Timecard

    page = probe.page
    realm = await new_realm(sandbox, "Summit Framing Co")
    realm_id = realm["realmId"]
    employee = await _entity(sandbox, realm_id, "Employee", Id="1")
    customer = await _entity(sandbox, realm_id, "Customer", Id="1")
    item = await _entity(sandbox, realm_id, "Item", Name="Framing Labor")
    ids = await _core_records(sessionmaker, company.id)

    # ---- setup checklist before anything
    await sign_in(probe, live, make_token(company.id), "setup")
    await page.wait_for_selector("#checklist")
    await probe.shot("00-setup-checklist-start")

    # ---- connect (3 steps, the sandbox's consent page in between)
    await connect_via_consent(probe, live, sandbox_server.base_url, realm_id)
    assert "Test connection passed" in await page.text_content("#test-result")
    await probe.shot("03-connect-step3-confirmed")

    # ---- import the directory (the worker runs the job)
    await page.click("text=Next: map your records")
    await page.wait_for_selector("#import-button")
    draws = await page.get_attribute("#mapping-body", "data-draws")
    await page.click("#import-button")
    await page.wait_for_selector("#import-out .msg-ok, #import-out .msg-error", timeout=180_000)
    assert "Import done" in await page.text_content("#import-out")
    # the finished import reloads the page's data and redraws it: wait for that before using the page
    await page.wait_for_function(f"Number(document.querySelector('#mapping-body').dataset.draws) > {draws}")
    await page.wait_for_selector(f"#qbo-list [data-qbo-id='{employee['Id']}']")

    # ---- required mappings are highlighted; test mapping shows the errors before mapping
    row = f".crew-row[data-id='{ids['worker']}']"
    assert "required" in (await page.get_attribute(row, "class") or "")
    await page.select_option("#test-timecard", str(ids["timecard"]))
    await page.click("#test-mapping")
    await page.wait_for_selector("#test-mapping-out .msg")
    assert await page.locator("#test-mapping-errors").count() == 1, await page.text_content("#test-mapping-out")
    errors_text = await page.text_content("#test-mapping-errors")
    assert "EmployeeRef" in errors_text and "CustomerRef" in errors_text
    await probe.shot("04-mapping-before")

    # ---- map by dragging: worker → employee, project → customer, cost code → service item
    await _drag(page, f"#qbo-list [data-qbo-id='{employee['Id']}']", row)
    await page.wait_for_selector(f"{row} .chip[data-qbo-id='{employee['Id']}']")
    await page.click("#tab-projects")
    await _drag(page, f"#qbo-list [data-qbo-id='{customer['Id']}']", f".crew-row[data-id='{ids['project']}']")
    await page.wait_for_selector(f".crew-row[data-id='{ids['project']}'] .chip[data-qbo-id='{customer['Id']}']")
    await page.click("#tab-costCodes")
    assert await page.is_checked("input[name=costCodeField][value=ServiceItem]")
    # the keyboard alternative for this one: choose in the row's select, then Match
    cc_row = f".crew-row[data-id='{ids['cost_code']}']"
    await page.select_option(f"{cc_row} select", item["Id"])
    await page.click(f"{cc_row} .keyboard button")
    await page.wait_for_selector(f"{cc_row} .chip[data-qbo-id='{item['Id']}']")
    # billable time needs a bill rate (QBO refuses it without one): the Rates panel's default
    await page.fill("#default-bill-rate", "65")
    await page.dispatch_event("#default-bill-rate", "change")
    await probe.shot("05-mapping-matched")
    await page.click("#save-mapping")
    # The import already linked employee 1 to the CrewFlow worker it created: saving asks first.
    await page.wait_for_selector("#duplicate-warning")
    await page.click("#confirm-duplicates")
    await page.wait_for_selector("#save-out .msg-ok")
    assert "Saved (revision" in await page.text_content("#save-out")

    # ---- test mapping on the real timecard: valid, with the exact payload
    await page.select_option("#test-timecard", str(ids["timecard"]))
    await page.click("#test-mapping")
    await page.wait_for_selector("#test-mapping-out .msg-ok")
    preview = json.loads(await page.text_content("#test-mapping-out pre.json"))
    assert preview["EmployeeRef"]["value"] == employee["Id"]
    assert preview["CustomerRef"]["value"] == customer["Id"]
    assert preview["ItemRef"]["value"] == item["Id"]
    assert preview["BillableStatus"] != "Billable" or preview["HourlyRate"] == 65
    await probe.shot("06-mapping-test-passed")

    # ---- test mode: dry run, then enable live sync
    await page.click("text=Next: test mode")
    await page.wait_for_selector("#run-dry-run")

    async def slow_names(route):  # a loaded machine: the verdict must not show over an empty table
        await asyncio.sleep(1.5)
        await route.continue_()

    await page.route("**/console/names*", slow_names)
    await page.click("#run-dry-run")
    await page.wait_for_selector("#dry-run-out .msg")
    await page.unroute("**/console/names*", slow_names)
    assert await page.locator("#dry-run-out .msg-ok").count() == 1, await page.text_content("#dry-run-out")
    assert await page.locator(f"#dry-run-results tr.pass[data-timecard-id='{ids['timecard']}']").count() == 1
    dry_cell = f"#dry-run-results tr.pass[data-timecard-id='{ids['timecard']}'] .timecard-name"
    dry_row = await page.text_content(f"{dry_cell} a.tc-link")  # its name links to its page
    assert re.fullmatch(r"Jay Crew-Lead · Showroom build-out · \d{4}-\d{2}-\d{2} · [\d.]+ h", dry_row), dry_row
    assert (await page.text_content(f"{dry_cell} .timecard-now")).startswith("Not sent: live sync is off")
    await probe.shot("07-test-mode-dry-run-passed")
    await page.click("#enable-live")
    await page.wait_for_selector("#live-out .msg-ok")
    await wait_for_text(page, "#live-sync-state", "on", exact=True)
    assert await page.text_content("#live-sync-state") == "on"
    await probe.shot("08-test-mode-live")

    # ---- the dashboard, refreshing every second; then a timecard approved through the event bus
    await page.goto(live.console("dashboard", refresh=1))
    await page.wait_for_selector("#health-status")
    await page.evaluate("window.__sameDocument = 'yes'")
    now = datetime.now(UTC).replace(microsecond=0)
    async with sessionmaker() as s:
        from qbo_integration.core_platform.models import CostCode, Project, User

        w = await s.get(User, ids["worker"])
        p = await s.get(Project, ids["project"])
        c = await s.get(CostCode, ids["cost_code"])
        fresh = add_timecard(s, company.id, w, p, c, clock_in=now - timedelta(hours=9), clock_out=now - timedelta(minutes=10),
                             notes="Roof trusses")
        await s.commit()
        fresh_id = fresh.id
    event = {"event": "timecard.approved", "eventId": str(uuid.uuid4()), "occurredAt": now.isoformat().replace("+00:00", "Z"),
             "companyId": str(company.id), "timecardId": str(fresh_id), "version": 1}
    assert await redis.publish(channel("timecard.approved"), json.dumps(event)) >= 1

    # Enabling live sync already sent the backlog (yesterday's timecard): wait for this one by name in
    # the dashboard's "Recently synced" list, not for the counter to move.
    await page.wait_for_selector(f"#recently-synced li[data-timecard-id='{fresh_id}']", timeout=180_000)
    assert "Jay Crew-Lead · Showroom build-out" in await page.text_content(f"#recently-synced li[data-timecard-id='{fresh_id}']")
    assert int(await page.text_content("#synced-today .tile-value")) >= 1
    assert await page.evaluate("window.__sameDocument") == "yes"  # no reload happened
    assert "never" not in await page.text_content("#last-sync")
    async with sessionmaker() as s:
        synced = (await s.execute(select(Timecard.sync_status, Timecard.qbo_id).where(Timecard.id == fresh_id))).one()
    assert synced.sync_status == "synced" and synced.qbo_id
    activities = (await sandbox.get(f"/_sandbox/realms/{realm_id}/entities/TimeActivity")).json()["items"]
    assert synced.qbo_id in {a["Id"] for a in activities}
    await page.wait_for_selector("#recent-runs li")
    await probe.shot("09-dashboard-synced")

    # ---- audit log and setup checklist at the end; tablet width too
    await page.goto(live.console("audit"))
    await page.wait_for_selector("#audit-table table")
    await probe.shot("10-audit-log")
    await page.goto(live.console("setup"))
    await page.wait_for_selector("#checklist")
    done = await page.locator("#checklist li.done").count()
    assert done >= 5, await page.text_content("#checklist")
    await probe.shot("11-setup-checklist-done")
    await page.set_viewport_size(TABLET)
    for name, ready in (("dashboard", "#recent-runs"), ("mapping", "#crew-list"), ("audit", "#audit-table table"),
                        ("test", "#live-sync")):
        await page.goto(live.console(name))
        await page.wait_for_selector(ready)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= TABLET["width"], f"{name} overflows the tablet width: {width}px"
        await probe.shot(f"tablet-{name}")
    assert script_errors(probe) == []
