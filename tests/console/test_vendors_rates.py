"""The mapping wizard in the browser (issue 15): QuickBooks vendors are offered beside the employees,
labelled "Vendor (subcontractor)", jobs are shown by their full name ("Parent:Job"), and the default
bill and pay rates are set in the Rates panel and saved with the mapping."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from qbo_integration.mapping.models import MappingProfile
from tests.console.flows import script_errors, sign_in, wait_for_text
from tests.mapping.factories import add_project, add_record, add_worker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]


async def test_a_worker_matched_to_a_vendor_with_rates_is_saved(probe, live, connected_company, make_token,
                                                               sessionmaker):
    cid = connected_company.company_id
    async with sessionmaker() as s:
        add_record(s, cid, "Employee", "1", "Tom Bennett")
        add_record(s, cid, "Vendor", "7", "Apex Electric LLC")
        add_record(s, cid, "Customer", "5", "Bennett Homes:Oak St Remodel")
        luis = add_worker(s, cid, "Luis Reyes")
        add_project(s, cid, "Oak St Remodel")
        await s.commit()
    page = probe.page
    await sign_in(probe, live, make_token(cid), "mapping")
    row = f".crew-row[data-id='{luis.id}']"
    await page.wait_for_selector(row)
    options = await page.locator(f"{row} select option").all_text_contents()
    assert "Apex Electric LLC · Vendor (subcontractor)" in options and "Tom Bennett" in options
    await page.select_option(f"{row} select", "v:7")
    await page.click(f"{row} .keyboard button")
    await wait_for_text(page, f"{row} .chip", "Apex Electric LLC · Vendor (subcontractor)")
    await page.click("#tab-projects")
    await wait_for_text(page, "#qbo-list", "Bennett Homes:Oak St Remodel")

    await page.fill("#default-bill-rate", "65")
    await page.dispatch_event("#default-bill-rate", "change")
    await page.fill("#default-pay-rate", "31.5")
    await page.dispatch_event("#default-pay-rate", "change")
    await page.click("#save-mapping")
    await wait_for_text(page, "#save-out", "Saved (revision 1)")
    async with sessionmaker() as s:
        p = (await s.execute(select(MappingProfile).where(MappingProfile.company_id == cid))).scalar_one()
    assert p.config["vendorMapping"] == {str(luis.id): "7"} and p.config["employeeMapping"] == {}
    assert p.config["hourlyRates"]["default"] == 65 and p.config["costRates"]["default"] == 31.5
    await page.wait_for_selector("#default-bill-rate")  # the reloaded wizard shows what was saved
    assert await page.input_value("#default-pay-rate") == "31.5"
    assert not script_errors(probe)
