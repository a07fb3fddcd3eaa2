"""Honest waits in the browser (issue 31), at 1280 and 375 px. QuickBooks loses a batch's answers and
refuses a timecard for its closed books (the sandbox's faults and preferences, the real engine): the
dashboard says what the three wait for and until when, counts the refused one and only it under "Needs
your attention", shows beside each recent problem how its timecard stands now, and Sync Now answers what
it cannot send and when that goes, instead of "queued" and then "nothing needed sending"."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.console.conftest import WIDTHS
from tests.console.first_hour import assert_no_sideways_scroll, visible_text
from tests.console.flows import script_errors, sign_in, wait_for_text
from tests.console.waits_seed import lost_answers_and_closed_books

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1800)]


@pytest.mark.parametrize("viewport", WIDTHS)
async def test_the_dashboard_says_what_waits_until_when_and_who_acts(
        viewport, probe_at, live, connected_company, make_token, sessionmaker, sandbox, sandbox_server, settings,
        redis_url):
    from qbo_integration.sync.models import SyncJob

    cid = connected_company.company_id
    closed, lost = await lost_answers_and_closed_books(sessionmaker, sandbox, sandbox_server, settings, redis_url,
                                                        connected_company)
    probe = await probe_at(viewport)
    page = probe.page
    await sign_in(probe, live, make_token(cid), "dashboard")
    await page.wait_for_selector("#waits li")

    # ---- what waits, for what, until when; what needs someone, counted once
    lines = await page.eval_on_selector_all("#waits li", "ls => ls.map(l => [l.dataset.reason, l.innerText])")
    assert [r for r, _ in lines] == ["confirming"], lines
    words = lines[0][1]
    assert words.startswith("3 timecards waiting to confirm with QuickBooks after the outage at "), words
    assert "they go by" in words and "Nothing to do" in words, words
    assert await page.text_content("#pending .tile-value") == "3"
    assert await page.text_content("#attention-count .tile-value") == "1"
    assert "the books are closed through Mar 31" in await visible_text(page, "#needs-fix")
    assert "pending" not in (await visible_text(page, "#dash-body")).lower()

    # ---- each recent problem says how its timecard stands now: the refused one needs you, the others wait
    await page.wait_for_selector("#recent-errors li .now")
    nows = await page.eval_on_selector_all(
        "#recent-errors li", "ls => ls.map(l => [l.dataset.timecardId, l.querySelector('.now')?.className || '',"
        " l.querySelector('.now')?.innerText || ''])")
    by_card = {tid: (cls, text) for tid, cls, text in nows}
    assert "now-you" in by_card[str(closed)][0] and "the books are closed" in by_card[str(closed)][1]
    for tid in lost:
        cls, text = by_card[str(tid)]
        assert "now-ok" in cls and "Now (nothing to do): Waiting: QuickBooks may already have the" in text, text
    needing = sum(1 for cls, _ in by_card.values() if "now-you" in cls)
    assert str(needing) == await page.text_content("#attention-count .tile-value")

    # ---- the Waiting tile leads to the reasons, and the focus goes with it
    await page.click("#pending .tile-extra button")
    await page.wait_for_function("document.activeElement && document.activeElement.id === 'waits'")
    await page.wait_for_function("""() => { const r = document.querySelector('#waits li').getBoundingClientRect();
      return r.top >= 0 && r.bottom <= window.innerHeight; }""")

    # ---- Sync Now answers what it cannot send and when that goes
    await page.click("#sync-now")
    await wait_for_text(page, "#sync-out", "Not sent now:")
    sync_words = await visible_text(page, "#sync-out")
    assert "waiting to confirm with QuickBooks" in sync_words and "they go by" in sync_words, sync_words
    async with sessionmaker() as s:  # no worker here: the job is finished by hand, having sent nothing
        await s.execute(update(SyncJob).where(SyncJob.company_id == cid, SyncJob.trigger == "sync_now")
                        .values(status="completed", timecards_total=0))
        await s.commit()
    await wait_for_text(page, "#sync-out", "Done: nothing could be sent now;")
    done = await visible_text(page, "#sync-out")
    assert "nothing needed sending" not in done and "0 synced" not in done
    assert "waiting to confirm with QuickBooks" in done, done
    assert await page.locator("#sync-waits li").count() >= 1
    await assert_no_sideways_scroll(probe, "the dashboard with waits and problems")
    await probe.shot(f"dashboard-waits-{viewport['width']}")
    assert not script_errors(probe)
