"""connect -> authorize (sandbox consent page) -> callback -> test-connection -> disconnect, over HTTP."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, text

from qbo_integration.connections.crypto import TokenCipher, TokenCipherError, aad_for, generate_key
from qbo_integration.connections.models import Integration, OAuthState
from qbo_integration.monitoring.models import AuditLogEntry
from qbo_integration.qbo.oauth import code_challenge_s256
from tests.connections import flow
from tests.connections.flow import API


async def _row(sessionmaker, company_id) -> Integration:
    async with sessionmaker() as s:
        return (await s.execute(select(Integration).where(Integration.company_id == company_id))).scalar_one()


async def _actions(sessionmaker, company_id) -> list[tuple[str, str]]:
    async with sessionmaker() as s:
        rows = (await s.execute(select(AuditLogEntry.action, AuditLogEntry.status)
                                .where(AuditLogEntry.company_id == company_id)
                                .order_by(AuditLogEntry.created_at))).all()
    return [tuple(r) for r in rows]


async def test_connect_authorize_callback_test_disconnect(client, sandbox, sandbox_server, company, auth_headers,
                                                          sessionmaker, settings, redis):
    realm = await flow.new_realm(sandbox, "Summit Framing LLC")
    realm_id = realm["realmId"]

    # 1. connect: the authorize URL, with PKCE because the sandbox's discovery offers S256
    url = await flow.start(client, company.id, auth_headers)
    q = flow.query_of(url)
    assert url.startswith(f"{sandbox_server.base_url}/connect/oauth2?")
    assert q["client_id"] == settings.qbo_client_id
    assert q["scope"] == "com.intuit.quickbooks.accounting"
    assert q["redirect_uri"] == settings.qbo_redirect_uri
    assert q["response_type"] == "code"
    assert q["code_challenge_method"] == "S256"
    state = q["state"]
    async with sessionmaker() as s:
        st = (await s.execute(select(OAuthState))).scalar_one()
        dump = (await s.execute(text("SELECT row_to_json(o)::text FROM oauth_states o"))).scalar_one()
    assert st.state_hash == hashlib.sha256(state.encode()).hexdigest()
    assert state not in dump  # stored as a hash only
    assert st.company_id == company.id and st.user_sub == "user-1" and st.used_at is None
    verifier = TokenCipher(settings.token_encryption_keys.get_secret_value()).decrypt(
        st.code_verifier_enc, b"oauth_state:" + st.state_hash.encode())
    assert code_challenge_s256(verifier) == q["code_challenge"]
    assert verifier not in dump
    assert 599 <= (st.expires_at - st.created_at).total_seconds() <= 601

    # 2. authorize at the sandbox (consent form) and 3. the callback, as a JSON client
    params = await flow.consent(sandbox, url, realm_id)
    assert params["state"] == state and params["realmId"] == realm_id and params["code"]
    resp = await flow.callback(client, params)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"success": True, "realmId": realm_id}

    row = await _row(sessionmaker, company.id)
    assert row.connection_status == "connected" and row.realm_id == realm_id
    assert row.qbo_company_name == "Summit Framing LLC"
    assert row.connected_by == "user-1" and row.last_test_ok is True

    # tokens: ciphertext only, decryptable with the key (bound to this row), not without it
    cipher = TokenCipher(settings.token_encryption_keys.get_secret_value())
    access = cipher.decrypt(row.access_token_enc, aad_for(row.id))
    refresh = cipher.decrypt(row.refresh_token_enc, aad_for(row.id))
    assert access in sandbox_server.state.oauth.access and refresh in sandbox_server.state.oauth.refresh
    async with sessionmaker() as s:
        whole_row = (await s.execute(text("SELECT row_to_json(i)::text FROM integrations i"))).scalar_one()
        used_at = (await s.execute(select(OAuthState.used_at))).scalar_one()
    for secret in (access, refresh, params["code"]):
        assert secret not in whole_row
    assert used_at is not None
    with pytest.raises(TokenCipherError):
        TokenCipher(generate_key("k1")).decrypt(row.access_token_enc, aad_for(row.id))
    with pytest.raises(TokenCipherError):
        cipher.decrypt(row.access_token_enc, aad_for("another-row"))

    # the first directory import was queued after the commit; the setup step is marked
    assert await redis.keys(f"arq:job:directory_import:{company.id}:*")
    async with sessionmaker() as s:
        connected_at = (await s.execute(text("SELECT connected_at FROM setup_checklists WHERE company_id = :c"),
                                        {"c": company.id})).scalar_one()
    assert connected_at is not None

    # the status for the health dashboard
    status = (await client.get(f"{API}/connection", params={"companyId": str(company.id)},
                               headers=auth_headers)).json()
    assert status["status"] == "connected" and status["realmId"] == realm_id
    assert status["companyName"] == "Summit Framing LLC" and status["changedAt"]

    # 4. test-connection returns the sandbox company name and records the outcome
    resp = await client.post(f"{API}/test-connection", json={"companyId": str(company.id)}, headers=auth_headers)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"connected": True, "companyName": "Summit Framing LLC", "error": None}

    # 5. disconnect revokes: the sandbox then refuses the old access token
    companyinfo = f"/v3/company/{realm_id}/companyinfo/{realm_id}"
    assert (await sandbox.get(companyinfo, headers={"Authorization": f"Bearer {access}"})).status_code == 200
    resp = await client.request("DELETE", f"{API}/disconnect", json={"companyId": str(company.id)},
                                headers=auth_headers)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"success": True, "revoked": True}
    assert (await sandbox.get(companyinfo, headers={"Authorization": f"Bearer {access}"})).status_code == 401
    row = await _row(sessionmaker, company.id)
    assert row.connection_status == "disconnected" and row.enabled is False
    assert row.access_token_enc is None and row.refresh_token_enc is None
    assert row.realm_id == realm_id  # kept for the history and a reconnect
    status = (await client.get(f"{API}/connection", params={"companyId": str(company.id)},
                               headers=auth_headers)).json()
    assert status["status"] == "disconnected" and "user-1" in status["reason"]

    assert await _actions(sessionmaker, company.id) == [
        ("connect", "success"), ("test_connection", "success"), ("disconnect", "success")]
    async with sessionmaker() as s:
        audit_dump = (await s.execute(text("SELECT coalesce(string_agg(row_to_json(a)::text, ''), '') "
                                           "FROM integration_audit_log a"))).scalar_one()
    for secret in (access, refresh, params["code"], state, verifier):
        assert secret not in audit_dump

    # reconnecting the same realm works after a disconnect
    resp, _ = await flow.connect(client, sandbox, company.id, auth_headers, realm_id)
    assert resp.status_code == 200, resp.text
    assert (await _row(sessionmaker, company.id)).connection_status == "connected"


async def test_browser_callback_redirects_to_the_console(client, sandbox, company, auth_headers):
    realm_id = (await flow.new_realm(sandbox))["realmId"]
    url = await flow.start(client, company.id, auth_headers)
    params = await flow.consent(sandbox, url, realm_id)
    resp = await flow.callback(client, params, html=True)
    assert resp.status_code == 302
    assert resp.headers["location"] == f"/console/#/connected?realmId={realm_id}"


async def test_connect_redirects_with_302_by_default(client, company, auth_headers, sandbox_server):
    resp = await client.get(f"{API}/connect", params={"companyId": str(company.id)}, headers=auth_headers)
    assert resp.status_code == 302
    assert resp.headers["location"].startswith(f"{sandbox_server.base_url}/connect/oauth2?")
    assert resp.headers["cache-control"] == "no-store"
    resp = await client.get(f"{API}/connect", params={"companyId": str(company.id)},
                            headers={**auth_headers, "Accept": "application/json"})
    assert resp.status_code == 200 and resp.json()["authorizeUrl"].startswith(sandbox_server.base_url)
