"""No log line written during the whole connection lifecycle carries a token, code or secret.

Captures every record (root at DEBUG, plus httpx/httpcore/authlib at DEBUG) and also formats each
one with the service's JSON formatter, then scans for the actual secret values seen in the flow.
"""

from __future__ import annotations

import io
import logging

from sqlalchemy import select

from qbo_integration.connections.crypto import TokenCipher, aad_for
from qbo_integration.connections.models import Integration, OAuthState
from qbo_integration.logs import JsonFormatter
from tests.connections import flow
from tests.connections.flow import API

_NOISY = ("httpx", "httpcore", "authlib", "qbo_integration", "sqlalchemy.engine", "asyncio", "uvicorn")


async def _as_browser(coro):
    """The consent round trip is the admin's browser, not the service: its HTTP client's debug lines
    (the redirect's Location carries the code) are not the service's logs, so they are not captured."""
    loggers = [logging.getLogger(n) for n in ("httpx", "httpcore")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        return await coro
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


async def _tokens(sessionmaker, cipher) -> set[str]:
    async with sessionmaker() as s:
        row = (await s.execute(select(Integration))).scalar_one()
    if not row.access_token_enc:
        return set()
    return {cipher.decrypt(row.access_token_enc, aad_for(row.id)), cipher.decrypt(row.refresh_token_enc, aad_for(row.id))}


async def test_full_flow_logs_no_secret(client, sandbox, company, auth_headers, sessionmaker, settings, caplog):
    stream = io.StringIO()
    json_handler = logging.StreamHandler(stream)
    json_handler.setFormatter(JsonFormatter())
    json_handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(json_handler)
    caplog.set_level(logging.DEBUG)
    for name in _NOISY:
        caplog.set_level(logging.DEBUG, logger=name)
    cipher = TokenCipher(settings.token_encryption_keys.get_secret_value())
    secrets: set[str] = {settings.qbo_client_secret.get_secret_value(),
                         settings.token_encryption_keys.get_secret_value().split(":", 1)[1]}
    try:
        realm_id = (await flow.new_realm(sandbox))["realmId"]
        url = await flow.start(client, company.id, auth_headers)
        async with sessionmaker() as s:
            st = (await s.execute(select(OAuthState))).scalar_one()
        secrets.add(cipher.decrypt(st.code_verifier_enc, b"oauth_state:" + st.state_hash.encode()))
        params = await _as_browser(flow.consent(sandbox, url, realm_id))
        secrets.update({params["code"], params["state"]})
        resp = await flow.callback(client, params)
        assert resp.status_code == 200, resp.text
        secrets |= await _tokens(sessionmaker, cipher)
        # a test call, then one that has to refresh (the sandbox expires the access token)
        body = {"companyId": str(company.id)}
        assert (await client.post(f"{API}/test-connection", json=body, headers=auth_headers)).json()["connected"]
        await sandbox.post(f"/_sandbox/realms/{realm_id}/tokens/expire")
        assert (await client.post(f"{API}/test-connection", json=body, headers=auth_headers)).json()["connected"]
        secrets |= await _tokens(sessionmaker, cipher)
        # a failing exchange (replayed code with a fresh state) and the disconnect
        again_url = await flow.start(client, company.id, auth_headers)
        again = await _as_browser(flow.consent(sandbox, again_url, realm_id))
        secrets.update({again["code"], again["state"]})
        resp = await flow.callback(client, {**again, "code": params["code"]})
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "exchange_failed"
        resp = await client.request("DELETE", f"{API}/disconnect", json=body, headers=auth_headers)
        assert resp.status_code == 200
    finally:
        root.removeHandler(json_handler)

    assert len(secrets) >= 8

    def browser_line(text: str) -> bool:
        # the test's own httpx client plays the browser when it calls our callback (code in the URL)
        return "http://testserver/" in text

    json_lines = [ln for ln in stream.getvalue().splitlines() if not browser_line(ln)]
    lines = list(json_lines)
    for rec in caplog.records:
        if rec.name == "httpx" and browser_line(rec.getMessage()):
            continue
        lines.append(rec.getMessage())
        lines.append(JsonFormatter().format(rec))
    captured = "\n".join(lines)
    assert len(caplog.records) > 10 and json_lines, "nothing was captured: the scan would prove nothing"
    assert "QuickBooks connected" in captured and "QuickBooks disconnected" in captured
    for secret in secrets:
        assert secret not in captured, "a secret value appears in the captured log output"
