"""One timecard's page (issue 31), at 1280 and 375 px: reached from the dashboard's problems, the dead
letters, recently sent and the audit log; it shows the same sentence as everywhere else, what happens next
and when, the story newest first, no id or JSON until "Details" is opened, and only the actions that fit
(retry and the day's CSV for a closed-books refusal; no retry while QuickBooks' answer is being confirmed).
The finder finds timecards by worker and state."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import WIDTHS
from tests.console.first_hour import assert_no_sideways_scroll, visible_text
from tests.console.flows import script_errors, sign_in, wait_for_text
from tests.console.waits_seed import lost_answers_and_closed_books

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1800)]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


async def _no_ids_or_json(page) -> None:
    shown = await visible_text(page, "#view")
    assert not UUID.search(shown), UUID.search(shown)
    assert '{"' not in shown and '": ' not in shown, shown


@pytest.mark.parametrize("viewport", WIDTHS)
async def test_a_timecard_page_from_the_dashboard_and_the_finder(
        viewport, probe_at, live, connected_company, make_token, sessionmaker, sandbox, sandbox_server, settings,
        redis_url, client):
    cid = connected_company.company_id
    closed, lost = await lost_answers_and_closed_books(sessionmaker, sandbox, sandbox_server, settings, redis_url,
                                                       connected_company)
    headers = {"Authorization": f"Bearer {make_token(cid)}"}
    said = (await client.get("/api/v1/integrations/quickbooks/health/timecards", headers=headers,
                             params=[("companyId", str(cid)), ("timecardId", str(closed)),
                                     ("timecardId", str(lost[0]))])).json()["timecards"]
    probe = await probe_at(viewport)
    page = probe.page
    await sign_in(probe, live, make_token(cid), "dashboard")

    # ---- the finder: by worker and state, then open one
    await page.goto(live.console("timecards"))
    await page.wait_for_selector("#tc-found")
    assert await page.locator("#tc-found tbody tr").count() == 4
    await page.fill("#tc-worker", "emily")
    await page.select_option("#tc-state", "not_sent")
    await page.click("#tc-find button[type=submit]")
    await page.wait_for_function("document.querySelectorAll('#tc-found tbody tr').length === 1")
    assert await page.get_attribute("#tc-found tbody tr", "data-timecard-id") == str(closed)
    await assert_no_sideways_scroll(probe, "the finder")
    await page.click("#tc-found tbody tr a.tc-link")
    await page.wait_for_url(re.compile(rf"#/timecard\?id={closed}$"))
    await page.wait_for_selector("#tc-sentence")
    await page.goto(live.console("dashboard"))

    # ---- from the dashboard's recent problem to the refused timecard's page
    link = f"#recent-errors li[data-timecard-id='{closed}'] a.tc-link"
    await page.wait_for_selector(link)
    await page.click(link)
    await page.wait_for_url(re.compile(rf"#/timecard\?id={closed}$"))
    await page.wait_for_selector("#tc-sentence")
    sentence = await page.text_content("#tc-sentence")
    assert sentence == said[str(closed)]["message"], "not the same sentence as the dashboard's"
    assert sentence.startswith("Not sent: the books are closed through Mar 31"), sentence
    assert await page.text_content("#tc-title") == "Emily Platt · Cool Cars · 2026-03-02 · 8 h"
    assert await page.text_content("#tc-next") == "Nothing, until someone acts (below)."
    assert await page.is_visible("#tc-retry") and await page.is_visible("#tc-export")
    assert await page.text_content("#tc-export") == "Export 2026-03-02 as CSV"
    assert not await page.locator("#tc-open-qbo").count()  # QuickBooks holds nothing for it
    at = await page.eval_on_selector_all("#tc-story > li", "ls => ls.map(l => l.dataset.at)")
    assert len(at) >= 2 and at == sorted(at, reverse=True), at  # newest first
    await _no_ids_or_json(page)
    await assert_no_sideways_scroll(probe, "a refused timecard's page")
    await probe.shot(f"timecard-closed-{viewport['width']}")
    # the details say the rest
    await page.click("#tc-story > li:first-child .story-details summary")
    assert await page.is_visible("#tc-story > li:first-child .story-details .facts")
    async with page.expect_download() as got:
        await page.click("#tc-export")
    assert (await got.value).suggested_filename.endswith(".csv")
    await wait_for_text(page, "#tc-out", "Downloaded")
    await page.click("#tc-retry")
    await wait_for_text(page, "#tc-out", "Queued again")

    # ---- a timecard whose answer was lost: it waits; nothing to retry; when it goes
    await page.goto(live.console(f"timecard?id={lost[0]}"))
    await page.wait_for_selector("#tc-sentence")
    sentence = await page.text_content("#tc-sentence")
    assert sentence == said[str(lost[0])]["message"]
    assert sentence.startswith("Waiting: QuickBooks may already have the"), sentence
    assert (await page.text_content("#tc-next")).startswith("It goes by itself by ")
    assert not await page.locator("#tc-retry").count()
    await _no_ids_or_json(page)
    await assert_no_sideways_scroll(probe, "a waiting timecard's page")

    # ---- the audit log links to it too
    await page.goto(live.console("audit"))
    await page.wait_for_selector("#audit-table tr.entry")
    hrefs = await page.eval_on_selector_all("#audit-table .timecard-name a", "as => as.map(a => a.getAttribute('href'))")
    assert f"#/timecard?id={closed}" in hrefs, hrefs
    assert not script_errors(probe)
