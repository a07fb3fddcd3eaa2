"""Deployment-safe defaults: a production app keeps /docs and /metrics to itself unless told, and every
answer carries security headers (the console a strict CSP that forbids framing)."""

from __future__ import annotations

import base64

import httpx
import pytest
from asgi_lifespan import LifespanManager

PRODUCTION = {"QBOI_ENV": "production", "JWT_SECRET": "a-real-jwt-secret-" + "z" * 30,
              "QBO_CLIENT_ID": "ABcd1234realclient", "QBO_CLIENT_SECRET": "real-client-secret-" + "q" * 20,
              "TOKEN_ENCRYPTION_KEYS": "k2:" + base64.urlsafe_b64encode(b"r" * 32).decode()}


async def _get(settings, paths: list[str], **headers: str) -> list[httpx.Response]:
    from qbo_integration.app import create_app

    app = create_app(settings)
    async with LifespanManager(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                       base_url="http://t") as c:
        return [await c.get(p, headers=headers) for p in paths]


def _production(settings, **extra: object):
    return settings.model_copy(update={"env": "production", "jwt_secret": _secret(PRODUCTION["JWT_SECRET"]),
                                       "qbo_client_id": PRODUCTION["QBO_CLIENT_ID"],
                                       "qbo_client_secret": _secret(PRODUCTION["QBO_CLIENT_SECRET"]),
                                       "token_encryption_keys": _secret(PRODUCTION["TOKEN_ENCRYPTION_KEYS"]),
                                       **extra})


def _secret(value: str):
    from pydantic import SecretStr

    return SecretStr(value)


async def test_production_serves_no_docs_unless_enabled(settings, sessionmaker, redis):
    docs = ["/docs", "/redoc", "/openapi.json"]
    assert [r.status_code for r in await _get(_production(settings), docs)] == [404, 404, 404]
    on = await _get(_production(settings, api_docs_enabled=True), docs)
    assert [r.status_code for r in on] == [200, 200, 200]
    assert [r.status_code for r in await _get(settings, docs)] == [200, 200, 200]  # dev/test: on


async def test_metrics_need_the_token_and_are_off_in_production_without_one(settings, sessionmaker, redis):
    [off] = await _get(_production(settings), ["/metrics"])
    assert off.status_code == 403 and "METRICS_TOKEN" in off.json()["error"]["message"]
    guarded = _production(settings, metrics_token=_secret("scrape-me-" + "m" * 20))
    [none], [wrong], [right] = (await _get(guarded, ["/metrics"]),
                                await _get(guarded, ["/metrics"], authorization="Bearer nope"),
                                await _get(guarded, ["/metrics"], authorization="Bearer scrape-me-" + "m" * 20))
    assert (none.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert b"qbo_queue_depth" in right.content
    [dev] = await _get(settings, ["/metrics"])
    assert dev.status_code == 200


@pytest.mark.parametrize("path", ["/console/", "/console/js/main.js", "/console/console.css"])
async def test_the_console_sends_a_strict_csp_and_no_framing(client, path):
    r = await client.get(path)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("style-src-attr")[0]  # no inline script, no <style>
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_api_answers_carry_nosniff_and_no_framing(client):
    for r in (await client.get("/health"), await client.get("/nope")):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
