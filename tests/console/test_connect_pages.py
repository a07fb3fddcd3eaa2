"""Browser tests of the console's first steps: token, connect (3 steps through the sandbox's consent page),
test connection, disconnect, a denied consent, and API errors shown in words."""

from __future__ import annotations

import pytest

from tests.console.flows import connect_via_consent, new_realm, script_errors, sign_in, wait_for_text

pytestmark = [pytest.mark.browser, pytest.mark.timeout(2400)]


async def test_connect_in_three_steps_then_disconnect(probe, live, company, make_token, sandbox, sandbox_server):
    realm = await new_realm(sandbox, "Ridgeline Builders (console)")
    await sign_in(probe, live, make_token(company.id))
    page = probe.page

    await connect_via_consent(probe, live, sandbox_server.base_url, realm["realmId"])
    assert await page.text_content("#qbo-company") == "Ridgeline Builders (console)"
    assert await page.text_content("#realm-id") == realm["realmId"]
    result = await page.text_content("#test-result")
    assert "Test connection passed" in result and "Ridgeline Builders (console)" in result
    await probe.shot("03-connect-step3-confirmed")

    # The Test connection button again, from the plain connect page.
    await page.goto(live.console("connect"))
    await page.click("#test-connection")
    await page.wait_for_function("document.querySelector('#test-result .msg-ok') !== null")

    await page.click("#disconnect")
    await page.click("#disconnect-confirm")
    await page.wait_for_selector("#connection-status")
    assert await page.text_content("#connection-status") == "Disconnected"
    assert script_errors(probe) == []


async def test_denied_consent_comes_back_with_the_reason(probe, live, company, make_token, sandbox, sandbox_server):
    realm = await new_realm(sandbox, "Denied Co")
    await sign_in(probe, live, make_token(company.id), "connect")
    page = probe.page
    await page.click("#connect-button")
    await page.select_option("#realmId", realm["realmId"])
    await page.click("button[value=deny]")
    await page.wait_for_url("**/console/#/connect-failed?reason=access_denied")
    await wait_for_text(page, "#view", "not approved at QuickBooks")
    text = await page.text_content("#view")
    assert "not approved at QuickBooks" in text
    assert await page.text_content("#connect-button") == "Try again"
    await probe.shot("connect-denied")
    assert script_errors(probe) == []


async def test_api_errors_are_shown_in_words(probe, live, company, make_token):
    page = probe.page
    await page.goto(live.console("dashboard"))
    assert "Paste a CrewFlow admin bearer token" in await page.text_content("#view")

    # A token signed with another secret: 401 in words.
    forged = make_token(company.id)[:-4] + "AAAA"
    await page.fill("#token-input", forged)
    await page.click("#token-save")
    await page.wait_for_selector("#view .msg-error")
    assert "Your token was not accepted: Bearer token is invalid" in await page.text_content("#view .msg-error")

    # Not a JWT at all: refused before any call.
    await page.fill("#token-input", "hello")
    await page.click("#token-save")
    assert "does not look like a bearer token" in await page.text_content("#banner")

    # A supervisor may look but not change: the Connect step answers 403 in words.
    await page.fill("#token-input", make_token(company.id, role="supervisor"))
    await page.click("#token-save")
    await page.goto(live.console("connect"))
    await page.click("#connect-button")
    await page.wait_for_selector("#connect-out .msg-error")
    assert "Not allowed: Managing the QuickBooks integration needs the admin role" in await page.text_content(
        "#connect-out")
    assert script_errors(probe) == []
