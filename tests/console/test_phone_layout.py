"""Phone width (issue 29), at 1280 and 375 px with a realistic first hour's data: no page scrolls sideways
(a dry run's results and an opened audit row included), tables become stacked rows on a phone (each cell
under its column's heading, no word split into letters), the mapping board's buttons and warnings are not
cut, and the header folds behind a menu button on a phone."""

from __future__ import annotations

import pytest

from tests.console.conftest import WIDTHS
from tests.console.first_hour import assert_no_sideways_scroll, each_page, seed_first_hour
from tests.console.flows import script_errors, sign_in, wait_for_text

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1800)]

PHONE_HEADER_MAX = 110  # px: the brand, the menu button and who is signed in (it was 240 of 812)


@pytest.mark.parametrize("viewport", WIDTHS)
async def test_no_page_scrolls_sideways_and_tables_stack_on_a_phone(viewport, probe_at, live, connected_company,
                                                                    make_token, sessionmaker, sandbox):
    seeded = await seed_first_hour(sessionmaker, sandbox, connected_company)
    phone = viewport["width"] < 600
    probe = await probe_at(viewport)
    page = probe.page
    await sign_in(probe, live, make_token(connected_company.company_id), "setup")
    async for _name in each_page(probe, live, "first-hour"):
        pass

    # ---- the header: on a phone the pages fold behind the menu button, which shows where you are
    header = await page.locator("#topbar").bounding_box()
    assert header is not None
    if phone:
        assert header["height"] <= PHONE_HEADER_MAX, header
        assert not await page.locator("#nav a[data-page=mapping]").is_visible()
        assert (await page.text_content("#menu-toggle")).endswith("Audit log")
        await page.click("#menu-toggle")
        assert await page.get_attribute("#menu-toggle", "aria-expanded") == "true"
        await page.click("#nav a[data-page=mapping]")
        await page.wait_for_selector("#crew-list")
        assert not await page.locator("#nav a[data-page=audit]").is_visible()  # folded again
    else:
        assert not await page.locator("#menu-toggle").is_visible()
        assert await page.locator("#nav a[data-page=mapping]").is_visible()
        assert not await page.locator("#token-input").is_visible()  # signed in: no token field
        await page.click("#nav a[data-page=mapping]")
        await page.wait_for_selector("#crew-list")

    # ---- the mapping board: no button or warning cut
    shouty = f".crew-row[data-id='{seeded.shouty}']"
    await page.select_option(f"{shouty} select", seeded.employees[list(seeded.employees)[0]])
    await page.click(f"{shouty} .keyboard button")
    await page.wait_for_selector(f"{shouty} .conflict")
    cut = await page.evaluate("""() => [...document.querySelectorAll('#crew-list button, #crew-list .conflict, #crew-list .suggest')]
      .filter(e => e.offsetParent && (e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > window.innerWidth + 1))
      .slice(0, 5).map(e => e.className + ': ' + e.textContent.slice(0, 40))""")
    assert cut == [], cut
    await assert_no_sideways_scroll(probe, "mapping, a row with a warning")

    # ---- a dry run's results: stacked rows on a phone, the preview a table in words
    await page.goto(live.console("test"))
    await page.wait_for_selector("#run-dry-run")
    await page.click("#run-dry-run")
    await page.wait_for_selector("#dry-run-out .msg")
    assert await page.locator("#dry-run-results tr.pass").count() >= 1, await page.text_content("#dry-run-out")
    first = page.locator("#dry-run-results tr.pass").first
    await first.locator("button").click()
    preview = page.locator("#dry-run-results tr.details:not([hidden]) .preview-table")
    await preview.wait_for()
    words = await preview.inner_text()
    assert "Who worked (QuickBooks employee)" in words and "Billable" in words and "{" not in words
    await probe.shot(f"first-hour-dry-run-{viewport['width']}")
    await assert_no_sideways_scroll(probe, "test mode with results")
    await _stacked_or_not(page, "#dry-run-results", phone, "Result")

    # ---- the audit log: an opened row fits, the table stacks, the who column is there
    await page.goto(live.console("audit"))
    await page.wait_for_selector("#audit-table tr.entry")
    await page.locator("#audit-table tr.entry.failure", has_text="Timecard not sent").click()
    await wait_for_text(page, "#audit-table tr.details:not([hidden])", "Invalid Reference Id")
    await assert_no_sideways_scroll(probe, "audit log with a row open")
    await _stacked_or_not(page, "#audit-table table", phone, "Who")
    assert not script_errors(probe)


async def _stacked_or_not(page, table: str, phone: bool, heading: str) -> None:
    """On a phone the headings row is gone and each cell reads its heading; at 1280 px a plain table. A
    status pill is one line either way (it was split into letters: "su cc ee de d")."""
    assert await page.locator(f"{table} thead").is_visible() is (not phone)
    cell = page.locator(f"{table} tbody tr:not(.details) td[data-label='{heading}']").first
    shown = await page.eval_on_selector(f"{table} tbody tr:not(.details) td[data-label='{heading}']",
                                        "e => getComputedStyle(e, '::before').content")
    assert (shown == f'"{heading}"') is phone, shown  # on a phone the heading shows above the cell's text
    lines = await page.eval_on_selector(f"{table} .pill", "e => e.getClientRects().length")
    height = await page.eval_on_selector(f"{table} .pill", "e => e.getBoundingClientRect().height")
    assert lines == 1 and height < 30, (lines, height)
    assert await cell.count() == 1
