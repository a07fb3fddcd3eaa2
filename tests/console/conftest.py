"""Browser-test fixtures: headless Chromium (Debian's package, driven by the Python playwright package),
the API on real HTTP, a real arq worker, and a page that collects the console's script errors."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.console.stack import API_PREFIX, LiveApi, WorkerProcess, bind_free_socket

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
LAPTOP = {"width": 1366, "height": 900}
WIDE = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
WIDTHS = [pytest.param(WIDE, id="1280px"), pytest.param(PHONE, id="375px")]
TABLET = {"width": 768, "height": 1024}
STEP_TIMEOUT_MS = 90_000  # per browser step; the machines running CI are often heavily loaded


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - one stat at session start
        missing = "Chromium is not installed (apt-get install -y chromium; scripts/ci-extra.sh does it in CI)"
        if os.environ.get("QBOI_REQUIRE_BROWSER") == "1":  # .ci/run sets it: CI never skips the browser tests
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.async_api import async_playwright

    pw = await async_playwright().start()
    # Generous: on a loaded 2-CPU machine Chromium's first start has taken over a minute.
    b = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, timeout=240_000)
    try:
        yield b
    finally:
        await b.close()
        await pw.stop()


@dataclass
class Live:
    api: LiveApi
    settings: Any

    @property
    def base_url(self) -> str:
        return self.api.base_url

    def console(self, hash_: str = "", refresh: float | None = None) -> str:
        query = f"?refresh={refresh}" if refresh else ""
        return f"{self.base_url}/console/{query}#/{hash_}"


@pytest.fixture
async def live(settings, sessionmaker, redis) -> AsyncIterator[Live]:
    """The API on a free port; its QBO settings point at the sandbox and the redirect URI at itself."""
    from qbo_integration.app import create_app

    sock = bind_free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    live_settings = settings.model_copy(update={"qbo_redirect_uri": f"{base}{API_PREFIX}/callback",
                                                "public_base_url": base})
    api = LiveApi(lambda: create_app(live_settings), sock).start()
    try:
        yield Live(api=api, settings=live_settings)
    finally:
        api.stop()


@pytest.fixture
async def worker(live, redis, tmp_path) -> AsyncIterator[WorkerProcess]:
    """A real arq worker process, started once its event listener is subscribed."""
    from qbo_integration.core_platform.events import channel

    name = channel("timecard.approved")  # this run's prefixed channel (EVENT_CHANNEL_PREFIX)
    before = dict(await redis.pubsub_numsub(name)).get(name.encode(), 0)
    proc = WorkerProcess(live.settings, ARTIFACTS / "worker.log")
    try:
        deadline = time.monotonic() + 300  # imports alone take a minute on a loaded CI machine
        while True:
            subs = dict(await redis.pubsub_numsub(name)).get(name.encode(), 0)
            if subs > before:
                break
            if not proc.alive() or time.monotonic() > deadline:
                raise RuntimeError("the worker did not start:\n" + proc.output())
            await _sleep(0.1)
        yield proc
    finally:
        proc.stop()


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


@dataclass
class PageProbe:
    page: Any
    errors: list[str] = field(default_factory=list)

    async def shot(self, name: str, *, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
async def probe_at(browser) -> AsyncIterator[Any]:
    """probe_at(viewport) → a PageProbe in a fresh context of that size (closed after the test)."""
    contexts: list[Any] = []

    async def _open(viewport: dict[str, int]) -> PageProbe:
        context = await browser.new_context(viewport=viewport, accept_downloads=True, bypass_csp=True)
        contexts.append(context)
        context.set_default_timeout(STEP_TIMEOUT_MS)
        page = await context.new_page()
        p = PageProbe(page=page)
        page.on("pageerror", lambda exc: p.errors.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: p.errors.append(f"console.{msg.type}: {msg.text}")
                if msg.type == "error" else None)
        return p

    try:
        yield _open
    finally:
        for c in contexts:
            await c.close()


@pytest.fixture
async def probe(browser) -> AsyncIterator[PageProbe]:
    """A fresh browser context (empty sessionStorage) at laptop width; script errors are collected.

    The console's Content-Security-Policy is bypassed here: Playwright evaluates a string predicate
    (wait_for_function) with eval inside the page, which that policy forbids. test_csp.py drives the
    console under its policy."""
    context = await browser.new_context(viewport=LAPTOP, accept_downloads=True, bypass_csp=True)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = await context.new_page()
    p = PageProbe(page=page)
    page.on("pageerror", lambda exc: p.errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: p.errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    try:
        yield p
    finally:
        await context.close()
