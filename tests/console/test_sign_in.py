"""Signing in (issue 29): the dev banner's link signs in with one click (the token travels in the URL's
fragment, which no server sees, and leaves the address bar at once); a token lasts its lifetime across the
tabs of one browser, then the header says it expired; signing out in one tab signs out the others."""

from __future__ import annotations

import re

import pytest

from qbo_integration.devstack.dev import banner, sign_in_link
from tests.console.conftest import WIDTHS
from tests.console.flows import script_errors, wait_for_text


def test_the_dev_banner_leads_with_a_sign_in_link():
    text = banner(api_base="http://127.0.0.1:8000", sandbox_base="http://127.0.0.1:8001", realm="9130357766900001",
                  database_url="postgresql+asyncpg://x", redis_url="redis://x", notes=[], started=[("API", 11)],
                  company_id="c0", token="aaa.bbb.ccc")
    lines = text.splitlines()
    assert lines[1] == "qbo-integration dev is up"
    assert re.fullmatch(r"  open\s+http://127\.0\.0\.1:8000/console/#token=aaa\.bbb\.ccc", lines[2])
    assert sign_in_link("http://h:1", "t") == "http://h:1/console/#token=t"


@pytest.mark.browser
@pytest.mark.timeout(900)
@pytest.mark.parametrize("viewport", WIDTHS)
async def test_one_click_sign_in_shared_by_tabs_until_it_expires(viewport, browser, live, connected_company,
                                                                  make_token, settings):
    from qbo_integration.api.auth import mint_token
    from tests.console.conftest import STEP_TIMEOUT_MS, PageProbe

    context = await browser.new_context(viewport=viewport)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        first = PageProbe(page=await context.new_page())
        first.page.on("pageerror", lambda exc: first.errors.append(f"pageerror: {exc}"))
        page = first.page
        token = make_token(connected_company.company_id)
        await page.goto(sign_in_link(live.base_url, token) + "&page=dashboard")
        await wait_for_text(page, "#token-who", "admin · Acme Builders")
        await page.wait_for_selector("#health-status")
        assert page.url.endswith("/console/#/dashboard"), page.url  # the token left the address bar
        assert token not in page.url
        assert not await page.locator("#token-input").is_visible()  # nothing to paste

        # another tab of the same browser is signed in too
        second = await context.new_page()
        await second.goto(live.console("mapping"))
        await wait_for_text(second, "#token-who", "admin · Acme Builders")
        await second.wait_for_selector("#mapping-body")

        # signing out there signs this tab out as well
        if viewport["width"] < 600:
            await second.click("#menu-toggle")
        await second.click("#token-clear")
        await wait_for_text(second, "#token-who", "Not signed in")
        await wait_for_text(page, "#token-who", "Not signed in")

        # a token past its lifetime is not kept: the header says it expired
        expired = mint_token(settings, company_id=connected_company.company_id, role="admin", sub="user-1",
                             ttl_seconds=-60)
        await page.goto(sign_in_link(live.base_url, expired))
        await wait_for_text(page, "#token-who", "Your sign-in expired")
        assert await page.locator("#token-input").is_visible()
        assert script_errors(first) == []
    finally:
        await context.close()
