"""Every answer names its request (X-Request-Id), and every log line and Sentry event of the request
carries the same id, the unhandled error's included."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import sentry_sdk
from asgi_lifespan import LifespanManager

from qbo_integration import logs
from tests.monitoring.test_sentry_pipeline import sentry  # noqa: F401 (a fixture)

URL = "/api/v1/integrations/quickbooks/connection"


class Lines(logging.Handler):
    """The JSON lines the service would write, as written."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logs.JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines():
    handler = Lines()  # on the service's logger: create_app replaces the root logger's handlers
    logging.getLogger("qbo_integration").addHandler(handler)
    yield handler.lines
    logging.getLogger("qbo_integration").removeHandler(handler)


def _broken(*args, **kwargs):
    raise RuntimeError("a bug in a route")


@pytest.mark.usefixtures("sentry")
async def test_an_unhandled_error_is_traceable_by_header_log_line_and_sentry_tag(
        settings, sessionmaker, redis, company, auth_headers, log_lines, monkeypatch):
    from qbo_integration.app import create_app
    from qbo_integration.connections import service

    monkeypatch.setattr(service, "connection_view", _broken)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # as a server would: answer what was sent
    async with LifespanManager(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        resp = await c.get(URL, params={"companyId": str(company.id)}, headers=auth_headers)
    assert resp.status_code == 500, resp.text
    rid = resp.headers.get("x-request-id")
    assert rid and resp.json()["error"] == {"code": "internal_error", "message": "Internal server error",
                                            "requestId": rid}
    [line] = [ln for ln in log_lines if ln["msg"] == "unhandled error"]
    assert line["request_id"] == rid and "RuntimeError: a bug in a route" in line["exc"]
    sentry_sdk.flush()
    sent = sentry_sdk.get_client().transport.envelopes  # the fixture's CapturingTransport
    events = [item.payload.json for env in sent for item in env.items if item.type == "event"]
    assert events, "the error reached Sentry"
    assert all((e.get("tags") or {}).get("request_id") == rid for e in events), [e.get("tags") for e in events]


async def test_every_answer_carries_the_request_id_it_names(client, company, auth_headers, settings):
    big = b"x" * (settings.max_request_body_bytes + 1)
    answers = [await client.get(URL, params={"companyId": "not-a-uuid"}, headers=auth_headers),  # 422
               await client.get(URL, params={"companyId": str(company.id)}),  # 401
               await client.get("/nope"),  # 404
               await client.put("/api/v1/integrations/quickbooks/mapping", content=big, headers=auth_headers),  # 413
               await client.get("/health")]
    assert [r.status_code for r in answers] == [422, 401, 404, 413, 200]
    for r in answers[:-1]:
        assert r.headers["x-request-id"] == r.json()["error"]["requestId"], r.text
    assert answers[-1].headers["x-request-id"]
