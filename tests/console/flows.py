"""Steps the browser tests share: sign in with a token, connect through the sandbox's consent page."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.console.conftest import Live, PageProbe

IGNORED_CONSOLE = ("Failed to load resource",)  # the browser logs every 4xx answer; the page shows them in words


def script_errors(probe: PageProbe) -> list[str]:
    return [e for e in probe.errors if not any(s in e for s in IGNORED_CONSOLE)]


async def sign_in(probe: PageProbe, live: Live, token: str, hash_: str = "setup", refresh: float | None = None) -> None:
    page = probe.page
    await page.goto(live.console(hash_, refresh))
    await page.fill("#token-input", token)
    await page.click("#token-save")
    await page.wait_for_function("document.querySelector('#token-who').textContent.includes('admin')")


async def connect_via_consent(probe: PageProbe, live: Live, sandbox_base: str, realm_id: str,
                              *, shots: bool = True) -> None:
    """Step 1 (console) → step 2 (the sandbox's consent page: choose the realm, approve) → step 3 (console)."""
    page = probe.page
    await page.goto(live.console("connect"))
    await page.wait_for_selector("#connect-button")
    assert await page.text_content("#connection-status") == "Not connected yet"
    if shots:
        await probe.shot("01-connect-step1")
    await page.click("#connect-button")
    await page.wait_for_url(re.compile(re.escape(sandbox_base) + r"/connect/oauth2"))
    await page.select_option("#realmId", realm_id)
    if shots:
        await probe.shot("02-connect-step2-authorize")
    await page.click("button[value=approve]")
    await page.wait_for_url(re.compile(r"/console/#/connected\?realmId=" + realm_id))
    await page.wait_for_selector("#test-result .msg")


async def new_realm(sandbox: Any, name: str) -> dict[str, Any]:
    resp = await sandbox.post("/_sandbox/realms", json={"sample": True, "companyName": name})
    assert resp.status_code == 200, resp.text
    return resp.json()


def short(u: uuid.UUID | str) -> str:
    return str(u)[:8]


async def wait_for_text(page: Any, selector: str, text: str, *, exact: bool = False) -> None:
    """Wait until the element shows `text`: pages render after the URL or a message changes, and on a
    loaded machine a read right after the change can still see the previous content."""
    check = "t === want" if exact else "t.includes(want)"
    await page.wait_for_function(
        f"([sel, want]) => {{ const e = document.querySelector(sel); const t = e ? e.textContent.trim() : '';"
        f" return {check}; }}", arg=[selector, text])
