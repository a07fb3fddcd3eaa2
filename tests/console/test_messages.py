"""Messages belong to the current state and are in plain words, at 1280 and 375 px: the Connect page's
"Last test" follows the test just run (QuickBooks down → both say failed), a date range the wrong way
round is said plainly (no "body: Value error"), times are in the company's zone, and JSON stays behind
a "Details" toggle."""

from __future__ import annotations

import pytest

from tests.console.conftest import WIDTHS
from tests.console.flows import script_errors, sign_in, wait_for_text

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]


@pytest.mark.parametrize("viewport", WIDTHS)
async def test_messages_follow_the_state(viewport, probe_at, live, connected_company, make_token, sandbox,
                                         sessionmaker):
    from qbo_integration.monitoring import audit

    cid = connected_company.company_id
    async with sessionmaker() as s:
        await audit.record(s, integration_id=connected_company.integration_id, company_id=cid, action="sync_timecard",
                           status="success", qbo_id="77", request_payload={"EmployeeRef": {"value": "77"}})
        await s.commit()
    probe = await probe_at(viewport)
    page = probe.page
    await sign_in(probe, live, make_token(cid), "connect")
    await page.wait_for_selector("#test-connection")
    await page.click("#test-connection")
    await wait_for_text(page, "#test-result", "Test connection passed")
    assert (await page.text_content("#last-test")).endswith("passed")

    # QuickBooks goes down: the result and the "Last test" line both say failed.
    r = await sandbox.put(f"/_sandbox/realms/{connected_company.realm_id}/faults", json={"error503Rate": 1.0})
    assert r.status_code == 200, r.text
    await page.click("#test-connection")
    await page.wait_for_selector("#test-result .msg-error")
    await wait_for_text(page, "#last-test", "failed")
    assert "passed" not in await page.text_content("#last-test")
    assert "Service Unavailable" not in await page.text_content("#test-result")
    await sandbox.delete(f"/_sandbox/realms/{connected_company.realm_id}/faults")

    # A range the wrong way round, in words.
    await page.goto(live.console("test"))
    await page.wait_for_selector("#run-dry-run")
    await page.fill("#dry-start", "2026-11-20")
    await page.fill("#dry-end", "2026-11-10")
    await page.click("#run-dry-run")
    await wait_for_text(page, "#dry-run-out", "The end date must be on or after the start date.")
    text = await page.text_content("#dry-run-out")
    assert "body" not in text and "Value error" not in text and "endDate" not in text

    # The audit log: the time in the company's zone (Denver: MST in December), JSON folded away.
    await page.goto(live.console("audit"))
    await page.wait_for_selector("#audit-table tr.entry")
    await page.select_option("#f-action", "sync_timecard")  # the connection tests above left rows too
    await page.click("#audit-filters button[type=submit]")
    await wait_for_text(page, "#page-info", "· 1 entries")
    when = await page.text_content("#audit-table tr.entry td")
    assert "MST" in when or "MDT" in when, when
    assert "Action" not in await page.text_content("#audit-filters")
    await page.click("#audit-table tr.entry")
    assert not await page.locator("#audit-table tr.details pre.json").is_visible()
    await page.click("#audit-table tr.details summary")
    assert await page.locator("#audit-table tr.details pre.json").is_visible()
    assert not script_errors(probe)
