"""Matching never doubles up, in the browser at 1280 and 375 px: a suggestion whose QuickBooks employee
is already linked shows a warning, bulk accept skips it and says so, and saving two workers on one
employee asks first ("Save anyway") and leaves an audit row."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.console.conftest import WIDTHS
from tests.console.flows import script_errors, sign_in, wait_for_text
from tests.mapping.factories import add_record, add_worker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]


@pytest.mark.parametrize("viewport", WIDTHS)
async def test_linked_record_warning_bulk_skip_and_confirmed_duplicate(viewport, probe_at, live, connected_company,
                                                                      make_token, sessionmaker):
    from qbo_integration.monitoring.models import AuditLogEntry

    cid = connected_company.company_id
    async with sessionmaker() as s:
        add_record(s, cid, "Employee", "1", "Tom Bennett")
        add_record(s, cid, "Employee", "2", "Ann Oak", email="ann@oak.test")
        add_worker(s, cid, "Tom Bennett", qbo="1")  # linked by the directory import
        shouty = add_worker(s, cid, "TOM BENNETT")  # the same name in capitals, no email
        ann = add_worker(s, cid, "Ann Oak", "ANN@oak.test")
        await s.commit()
    probe = await probe_at(viewport)
    page = probe.page
    await sign_in(probe, live, make_token(cid), "mapping")
    row = f".crew-row[data-id='{shouty.id}']"
    await page.wait_for_selector(f"{row} .suggest")
    assert "Already linked to Tom Bennett" in await page.text_content(f"{row} .suggest .conflict")

    await page.click("#accept-suggestions")
    await wait_for_text(page, "#accept-out", "Skipped 1")
    out = await page.text_content("#accept-out")
    assert "Accepted 1 suggestion(s)" in out and "TOM BENNETT" in out
    await page.wait_for_selector(f".crew-row[data-id='{ann.id}'] .chip[data-qbo-id='2']")
    assert await page.locator(f"{row} .chip").count() == 0

    # Matching it by hand shows the clash on the row; saving asks before keeping it.
    await page.select_option(f"{row} select", "1")
    await page.click(f"{row} .keyboard button")
    await wait_for_text(page, f"{row} .conflict", "Tom Bennett is matched to this employee too")
    await page.click("#save-mapping")
    await page.wait_for_selector("#duplicate-warning")
    assert "Tom Bennett: TOM BENNETT and Tom Bennett" in await page.text_content("#duplicate-warning")
    await page.click("#confirm-duplicates")
    await wait_for_text(page, "#save-out", "Saved (revision 1)")
    async with sessionmaker() as s:
        rows = (await s.execute(select(AuditLogEntry).where(AuditLogEntry.company_id == cid,
                                                            AuditLogEntry.action == "mapping_duplicates_confirmed"))
                ).scalars().all()
    assert len(rows) == 1 and rows[0].request_payload["shared"][0]["qboEmployeeId"] == "1"
    assert not script_errors(probe)
