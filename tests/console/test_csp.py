"""The console works under the Content-Security-Policy the API sends with it: every page renders, signed
in, with no violation (no inline script, eval, foreign source or <style>), and it cannot be framed."""

from __future__ import annotations

import pytest

from tests.console.conftest import LAPTOP, STEP_TIMEOUT_MS, PageProbe

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

PAGES = ("setup", "connect", "mapping", "test", "dashboard", "audit")


async def test_every_page_renders_under_the_policy(browser, live, connected_company, make_token):
    context = await browser.new_context(viewport=LAPTOP)  # the policy enforced, as in a person's browser
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = await context.new_page()
    probe = PageProbe(page=page)
    page.on("pageerror", lambda exc: probe.errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: probe.errors.append(msg.text) if msg.type == "error" else None)
    try:
        response = await page.goto(live.console("setup"))
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        await page.fill("#token-input", make_token(connected_company.company_id))
        await page.click("#token-save")
        await page.wait_for_selector("#token-who:has-text('admin')")
        styled = {}
        for name in PAGES:
            await page.goto(live.console(name))
            await page.wait_for_selector("#view > *")
            await page.wait_for_load_state("networkidle")
            styled[name] = await page.locator("#view [style]").count()
        violations = [e for e in probe.errors if "Content Security Policy" in e or e.startswith("pageerror")]
        assert violations == [], violations
        assert styled["setup"] > 0, styled  # the progress bar's width: a style attribute the policy allows
    finally:
        await context.close()
