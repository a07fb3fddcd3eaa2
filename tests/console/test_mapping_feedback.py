"""The mapping page in the first hour (issue 29), at 1280 and 375 px with a long board: Space on a row's
"Accept" leaves the focus on the row (not on the "×" that undoes it); unsaved changes survive a reload, a
nav link and Back (kept as a draft until saved or discarded); "Accept ≥ 90 %" answers next to the button
and in the live region, with the next step; saving two workers on one employee asks where the Save button
is, on screen; no green "every record is mapped" while changes are unsaved."""

from __future__ import annotations

import pytest

from tests.console.conftest import WIDTHS
from tests.console.first_hour import assert_no_sideways_scroll, in_viewport, seed_first_hour
from tests.console.flows import script_errors, sign_in, wait_for_text

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1800)]


async def _announced(page, text: str) -> None:
    await page.wait_for_function("want => document.querySelector('#announcer').textContent.includes(want)", arg=text)


@pytest.mark.parametrize("viewport", WIDTHS)
async def test_accept_feedback_drafts_and_the_duplicate_question(viewport, probe_at, live, connected_company,
                                                                 make_token, sessionmaker, sandbox):
    seeded = await seed_first_hour(sessionmaker, sandbox, connected_company)
    probe = await probe_at(viewport)
    page = probe.page
    await sign_in(probe, live, make_token(connected_company.company_id), "mapping")
    row = f".crew-row[data-id='{seeded.shouty}']"
    chip = f"{row} .chip"
    await page.wait_for_selector(f"{row} .suggest .accept")

    # ---- Space on Accept: matched, the focus on the row; a second Space does not undo it
    await page.focus(f"{row} .accept")
    await page.keyboard.press("Space")
    await page.wait_for_selector(chip)
    focused = await page.evaluate("[document.activeElement.dataset.id, document.activeElement.className]")
    assert focused[0] == str(seeded.shouty), focused
    await _announced(page, "matched to")
    await page.keyboard.press("Space")
    assert await page.locator(chip).count() == 1
    await wait_for_text(page, "#unsaved-count", "1 unsaved change(s)")
    # beside an unsaved change the summary is no green "every record is mapped"
    assert await page.locator("#mapping-summary .msg-ok").count() == 0
    assert "not saved yet" in await page.inner_text("#mapping-summary")

    # ---- a reload keeps the change (a draft), and says so where the Save button is
    await page.reload()
    await page.wait_for_selector(chip)
    await wait_for_text(page, "#unsaved-count", "1 unsaved change(s)")
    assert await in_viewport(page, "#draft-restored")
    assert "not saved yet" in await page.inner_text("#draft-restored")

    # ---- so do a nav link and Back
    if viewport["width"] < 600:
        await page.click("#menu-toggle")
    await page.click("#nav a[data-page=dashboard]")
    await page.wait_for_selector("#health-status")
    await page.go_back()
    await page.wait_for_selector(chip)
    await wait_for_text(page, "#unsaved-count", "1 unsaved change(s)")

    # ---- discarded: the saved mapping again
    await page.click("#discard-draft")
    await wait_for_text(page, "#unsaved-count", "No unsaved changes")
    await page.wait_for_selector(f"{row} .suggest .accept")
    assert await page.locator(chip).count() == 0

    # ---- Accept ≥ 90 %: the answer next to the button, on screen, with the next step
    await page.click("#accept-suggestions")
    await wait_for_text(page, "#accept-out", "Accepted 1 suggestion(s)")
    assert await in_viewport(page, "#accept-out")
    assert "Save mapping" in await page.inner_text("#accept-out")
    await _announced(page, "Accepted 1 suggestion(s)")

    # ---- two workers on one employee: the question shows where Save was clicked
    first_employee = seeded.employees[next(iter(seeded.employees))]
    await page.select_option(f"{row} select", first_employee)
    await page.click(f"{row} .keyboard button")
    await page.wait_for_selector(f"{row} .conflict")
    await page.click("#save-mapping")
    await page.wait_for_selector("#duplicate-warning")
    assert await in_viewport(page, "#confirm-duplicates"), "the Save anyway button is off screen"
    assert await page.locator("#mapping-summary .msg-ok").count() == 0
    await _announced(page, "Not saved")
    await probe.shot(f"first-hour-duplicate-question-{viewport['width']}", full_page=False)
    await assert_no_sideways_scroll(probe, "mapping with the duplicate question")
    await page.click("#confirm-duplicates")
    await wait_for_text(page, "#save-out", "Saved (revision 2)")
    assert await in_viewport(page, "#save-out .msg-ok")
    assert "Test mode" in await page.inner_text("#save-out")
    await wait_for_text(page, "#unsaved-count", "No unsaved changes")
    assert await page.locator("#mapping-summary .msg-ok").count() == 1

    # saved: nothing is kept as a draft any more
    await page.reload()
    await page.wait_for_selector(chip)
    await wait_for_text(page, "#unsaved-count", "No unsaved changes")
    assert await page.locator("#draft-restored").count() == 0
    assert not script_errors(probe)
