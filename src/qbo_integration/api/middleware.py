"""Request id on every response and log line (pure ASGI: no BaseHTTPMiddleware buffering), with the
security headers of the path (security_headers.py).

It is also where an unhandled error becomes the 500: Starlette's own last-resort handler runs outside
every middleware, after this one has unbound the request id, and its answer has no X-Request-Id.
"""

from __future__ import annotations

import json
import logging
import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qbo_integration import logs
from qbo_integration.api.errors import INTERNAL_ERROR, error_payload
from qbo_integration.api.security_headers import headers_for
from qbo_integration.observability import request_scope

logger = logging.getLogger("qbo_integration.api.errors")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        extra = [(b"x-request-id", request_id.encode()), *headers_for(scope.get("path", ""))]
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = message.setdefault("headers", [])
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
            await send(message)

        token = logs.bind(request_id=request_id)
        try:
            with request_scope(request_id):
                try:
                    await self.app(scope, receive, send_with_id)
                except Exception:
                    logger.exception("unhandled error")  # Sentry's logging integration reports it, tagged
                    if started:  # part of the answer went out: the server can only drop the connection
                        raise
                    await _internal_error(send_with_id, request_id)
        finally:
            logs.reset(token)


async def _internal_error(send: Send, request_id: str) -> None:
    body = json.dumps(error_payload(*INTERNAL_ERROR, request_id)).encode()
    await send({"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
