"""Keyboard, screen readers and phone width, at 1280 and 375 px: no page scrolls sideways, only status
messages are live regions, a picked QuickBooks record is visibly highlighted and keeps the focus, the
focus survives the dashboard's refresh, and the mapping page works with 200 workers (search, "needs
attention" filter, a sticky Save bar with the unsaved count)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.console.conftest import WIDTHS
from tests.console.first_hour import each_page
from tests.console.flows import script_errors, sign_in, wait_for_text
from tests.mapping.factories import add_project, add_record, add_timecard, add_worker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1800)]



async def _seed(sessionmaker, cc) -> dict:
    from qbo_integration.monitoring import audit

    cid = cc.company_id
    start = datetime.now(UTC) - timedelta(days=1)
    async with sessionmaker() as s:
        for i in range(1, 26):
            add_record(s, cid, "Employee", str(i), f"Employee Number{i:02d}", email=f"e{i}@acme.test")
        workers = [add_worker(s, cid, f"Worker {i:03d} Longname-Hyphenated", qbo=str(i) if i <= 20 else None)
                   for i in range(1, 201)]
        p = add_project(s, cid, "A project with a rather long name to wrap on a phone")
        await s.flush()
        tc = add_timecard(s, cid, workers[0], p, clock_in=start, clock_out=start + timedelta(hours=8))
        await s.flush()
        await audit.record(s, integration_id=cc.integration_id, company_id=cid, action="sync_timecard",
                           status="failure", timecard_id=tc.id, worker_id=workers[0].id, project_id=p.id,
                           error_message="QuickBooks refused: Invalid Reference Id", request_payload={"a": "b" * 300})
        await s.commit()
    return {"unlinked": workers[150].id}


@pytest.mark.parametrize("viewport", WIDTHS)
async def test_keyboard_phone_and_200_workers(viewport, probe_at, live, connected_company, make_token, sessionmaker):
    ids = await _seed(sessionmaker, connected_company)
    probe = await probe_at(viewport)
    page = probe.page
    await sign_in(probe, live, make_token(connected_company.company_id), "setup")
    # docs/console.md shows the screenshots (page-*, copied to docs/console/)
    async for name in each_page(probe, live, "page"):
        if name == "audit":
            await page.click("#audit-table tr.entry")  # the open row, with its long payload, must fit too
        # Only status messages are live regions: not <main>, not the page.
        live_regions = await page.eval_on_selector_all(
            "[aria-live], [role=status], [role=alert]",
            "els => els.filter(e => !e.classList.contains('msg') && e.id !== 'token-who' && e.id !== 'unsaved-count'"
            " && e.id !== 'banner' && e.id !== 'announcer').map(e => e.tagName + '#' + e.id)")
        assert live_regions == [], f"{name}: {live_regions}"

    # ---- the mapping page with 200 workers
    await page.goto(live.console("mapping"))
    await page.wait_for_selector("#crew-list")
    assert await page.locator("#crew-list .crew-row").count() == 200
    await page.fill("#crew-search", "Worker 15")  # 150-159
    await wait_for_text(page, "#crew-shown", "10 of 200 shown")
    assert await page.evaluate("document.activeElement.id") == "crew-search"  # typing is not interrupted
    await page.fill("#crew-search", "")
    await page.check("#needs-attention")
    await wait_for_text(page, "#crew-shown", "180 of 200 shown")  # the 20 linked by the import are fine
    assert "No unsaved changes" in await page.text_content("#unsaved-count")

    # pick a QuickBooks employee with the keyboard: visibly highlighted, focus stays on it
    item = "#qbo-list [data-qbo-id='21']"
    await page.focus(item)
    await page.keyboard.press("Enter")
    await page.wait_for_selector(f"{item}.picked")
    assert await page.evaluate("document.activeElement.dataset.qboId") == "21"
    outline = await page.eval_on_selector(f"{item}.picked", "e => getComputedStyle(e).outlineStyle")
    assert outline != "none"
    # drop it on a row with Enter: matched, the focus on that row, the Save bar counts it
    await page.uncheck("#needs-attention")  # (a matched row leaves that filter)
    await page.focus(item)
    assert await page.locator(f"{item}.picked").count() == 1  # the pick survives the re-render
    row = f".crew-row[data-id='{ids['unlinked']}']"
    await page.focus(row)
    await page.keyboard.press("Enter")
    await wait_for_text(page, "#unsaved-count", "1 unsaved change(s)")
    assert await page.evaluate("document.activeElement.dataset.id") == str(ids["unlinked"])
    # the Save bar stays on screen while the long list scrolls
    await page.evaluate("window.scrollTo(0, document.body.scrollHeight / 3)")
    box = await page.locator("#savebar").bounding_box()
    vh = await page.evaluate("window.innerHeight")
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= vh + 1, (box, vh)

    # ---- the dashboard refreshes every second; the focused error keeps the focus
    await page.goto(live.console("dashboard", refresh=1))
    await page.wait_for_selector("#recent-errors .error-item")
    await page.focus("#recent-errors .error-item")
    before = await page.evaluate("document.querySelector('#view').dataset.refreshedAt")
    await page.wait_for_function(f"document.querySelector('#view').dataset.refreshedAt !== '{before}'")
    assert await page.evaluate("document.activeElement.classList.contains('error-item')")
    assert not script_errors(probe)
