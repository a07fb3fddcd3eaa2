"""The sandbox ASGI app: OAuth, v3 API and admin API around one in-memory SandboxState."""

from __future__ import annotations

import time

from fastapi import FastAPI

from . import admin, api_routes, oauth, record_page, webhook_routes
from .config import SandboxConfig
from .responses import new_tid
from .state import SandboxState


class IntuitHeaders:
    """Pure ASGI middleware: `intuit_tid` on every answer, plus server time in X-Sandbox-Time-Ms."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                headers.append((b"intuit_tid", new_tid().encode()))
                headers.append((b"x-sandbox-time-ms", f"{elapsed:.3f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_sandbox_app(config: SandboxConfig | None = None) -> FastAPI:
    config = config or SandboxConfig()
    app = FastAPI(title="QBO sandbox", docs_url="/_sandbox/docs", redoc_url=None,
                  openapi_url="/_sandbox/openapi.json")
    app.state.sandbox = SandboxState(config)
    app.include_router(oauth.router)
    app.include_router(api_routes.router)
    app.include_router(admin.router)
    app.include_router(record_page.router)
    app.include_router(webhook_routes.router)
    app.add_middleware(IntuitHeaders)
    return app
