"""The callback's state: forged, replayed, expired, foreign and missing states change nothing (400);
denied consent and a realm connected elsewhere are refused with a clear message."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select, update

from qbo_integration.connections.models import Integration, OAuthState
from qbo_integration.core_platform.models import Company
from qbo_integration.monitoring.models import AuditLogEntry
from tests.connections import flow


async def _error(resp) -> tuple[int, str, str]:
    body = resp.json()
    return resp.status_code, body["error"]["code"], body["error"]["message"]


async def test_forged_state_is_refused_and_changes_nothing(client, sandbox, company, auth_headers, sessionmaker):
    realm_id = (await flow.new_realm(sandbox))["realmId"]
    url = await flow.start(client, company.id, auth_headers)
    params = await flow.consent(sandbox, url, realm_id)
    before = await flow.snapshot(sessionmaker)
    for forged in ("A" * 43, "not a state!", "x"):
        status, code, _ = await _error(await flow.callback(client, {**params, "state": forged}))
        assert (status, code) == (400, "state_not_bound")  # this browser never started that flow
        status, code, message = await _error(await flow.callback(client, {**params, "state": forged},
                                                                 bound_to=forged))
        assert (status, code) == (400, "invalid_state"), message
        assert "not one we issued" in message
    assert await flow.snapshot(sessionmaker) == before
    # the genuine state still works afterwards
    assert (await flow.callback(client, params)).status_code == 200


async def test_missing_state_is_refused(client, company, sessionmaker):
    before = await flow.snapshot(sessionmaker)
    status, code, message = await _error(await flow.callback(client, {"code": "abc", "realmId": "123"}))
    assert (status, code) == (400, "missing_state") and "no state" in message
    assert await flow.snapshot(sessionmaker) == before


async def test_replayed_state_is_refused_and_changes_nothing(client, sandbox, company, auth_headers, sessionmaker):
    realm_id = (await flow.new_realm(sandbox))["realmId"]
    resp, params = await flow.connect(client, sandbox, company.id, auth_headers, realm_id)
    assert resp.status_code == 200
    before = await flow.snapshot(sessionmaker)
    status, code, _ = await _error(await flow.callback(client, params))
    assert (status, code) == (400, "state_not_bound")  # success cleared the binding cookie
    status, code, message = await _error(await flow.callback(client, params, bound_to=params["state"]))
    assert (status, code) == (400, "state_used") and "already used" in message
    # even with a fresh code from the provider, the old state cannot be reused
    fresh = await flow.consent(sandbox, await flow.start(client, company.id, auth_headers), realm_id)
    before = await flow.snapshot(sessionmaker)
    status, code, _ = await _error(await flow.callback(client, {**fresh, "state": params["state"]},
                                                       bound_to=params["state"]))
    assert (status, code) == (400, "state_used")
    assert await flow.snapshot(sessionmaker) == before


async def test_expired_state_is_refused_and_changes_nothing(client, sandbox, company, auth_headers, sessionmaker):
    realm_id = (await flow.new_realm(sandbox))["realmId"]
    url = await flow.start(client, company.id, auth_headers)
    params = await flow.consent(sandbox, url, realm_id)
    async with sessionmaker() as s:  # ten minutes pass (no sleeping: move the expiry instead)
        row = (await s.execute(select(OAuthState))).scalar_one()
        await s.execute(update(OAuthState).values(created_at=row.created_at.replace(year=2020),
                                                  expires_at=row.expires_at.replace(year=2020)))
        await s.commit()
    before = await flow.snapshot(sessionmaker)
    status, code, message = await _error(await flow.callback(client, params))
    assert (status, code) == (400, "state_expired") and "expired" in message
    assert await flow.snapshot(sessionmaker) == before
    async with sessionmaker() as s:
        assert (await s.execute(select(Integration))).scalar_one_or_none() is None


async def test_foreign_state_is_refused_and_changes_nothing(client, sandbox, company, auth_headers, sessionmaker,
                                                            make_token):
    """A client forwarding the callback with its bearer must be the company and user that started it."""
    async with sessionmaker() as s:
        other = Company(id=uuid.uuid4(), name="Other Co", timezone="UTC", admin_email="a@other.test")
        s.add(other)
        await s.commit()
    realm_id = (await flow.new_realm(sandbox))["realmId"]
    url = await flow.start(client, company.id, auth_headers)
    params = await flow.consent(sandbox, url, realm_id)
    before = await flow.snapshot(sessionmaker)
    for token in (make_token(other.id), make_token(company.id, sub="someone-else")):
        resp = await flow.callback(client, params, headers={"Authorization": f"Bearer {token}"})
        status, code, message = await _error(resp)
        assert (status, code) == (400, "state_foreign") and "another user or company" in message
    assert await flow.snapshot(sessionmaker) == before
    # a bad bearer on the callback is a 401, nothing changed
    resp = await flow.callback(client, params, headers={"Authorization": "Bearer nonsense"})
    assert resp.status_code == 401
    assert await flow.snapshot(sessionmaker) == before
    # the user who started it may forward it
    resp = await flow.callback(client, params, headers=auth_headers)
    assert resp.status_code == 200, resp.text


async def test_access_denied_consumes_the_state_and_stores_nothing(client, sandbox, company, auth_headers,
                                                                    sessionmaker):
    realm_id = (await flow.new_realm(sandbox))["realmId"]
    url = await flow.start(client, company.id, auth_headers)
    params = await flow.consent(sandbox, url, realm_id, decision="deny")
    assert params["error"] == "access_denied" and "code" not in params
    status, code, message = await _error(await flow.callback(client, params))
    assert (status, code) == (400, "access_denied") and "not approved" in message
    async with sessionmaker() as s:
        assert (await s.execute(select(OAuthState.used_at))).scalar_one() is not None
        row = (await s.execute(select(Integration))).scalar_one()
        audit = (await s.execute(select(AuditLogEntry.action, AuditLogEntry.status))).all()
    assert row.connection_status == "never_connected" and row.access_token_enc is None
    assert [tuple(a) for a in audit] == [("connect", "failure")]
    # the same state cannot be used again, e.g. with a code
    status, code, _ = await _error(await flow.callback(client, {**params, "code": "x", "realmId": realm_id}))
    assert (status, code) == (400, "state_used")


async def test_access_denied_sends_a_browser_to_the_failure_page(client, sandbox, company, auth_headers):
    realm_id = (await flow.new_realm(sandbox))["realmId"]
    url = await flow.start(client, company.id, auth_headers)
    params = await flow.consent(sandbox, url, realm_id, decision="deny")
    resp = await flow.callback(client, params, html=True)
    assert resp.status_code == 302
    assert resp.headers["location"] == "/console/#/connect-failed?reason=access_denied"


async def test_realm_connected_to_another_company_is_refused(client, sandbox, connected_company, sessionmaker,
                                                             make_token):
    async with sessionmaker() as s:
        other = Company(id=uuid.uuid4(), name="Rival Builders", timezone="UTC", admin_email="a@rival.test")
        s.add(other)
        await s.commit()
    headers = {"Authorization": f"Bearer {make_token(other.id)}"}
    async with sessionmaker() as s:
        owner_before = (await s.execute(select(Integration).where(Integration.company_id == connected_company.company_id))
                        ).scalar_one()
    resp, _ = await flow.connect(client, sandbox, other.id, headers, connected_company.realm_id)
    assert resp.status_code == 409
    body = resp.json()["error"]
    assert body["code"] == "realm_in_use" and "already connected to another CrewFlow company" in body["message"]
    async with sessionmaker() as s:
        theirs = (await s.execute(select(Integration).where(Integration.company_id == other.id))).scalar_one()
        owner = (await s.execute(select(Integration).where(Integration.company_id == connected_company.company_id))
                 ).scalar_one()
    assert theirs.connection_status == "never_connected"
    assert theirs.access_token_enc is None and theirs.realm_id is None
    assert (owner.access_token_enc, owner.connection_status) == (owner_before.access_token_enc, "connected")


async def test_unknown_company_and_non_admin_cannot_start(client, company, make_token, sessionmaker):
    before = await flow.snapshot(sessionmaker)
    ghost = uuid.uuid4()
    resp = await client.get(f"{flow.API}/connect", params={"companyId": str(ghost), "format": "json"},
                            headers={"Authorization": f"Bearer {make_token(ghost)}"})
    assert resp.status_code == 404 and resp.json()["error"]["message"] == "Unknown company"
    resp = await client.get(f"{flow.API}/connect", params={"companyId": str(company.id)},
                            headers={"Authorization": f"Bearer {make_token(company.id, role='supervisor')}"})
    assert resp.status_code == 403 and "admin" in resp.json()["error"]["message"]
    resp = await client.get(f"{flow.API}/connect", params={"companyId": "not-a-uuid"},
                            headers={"Authorization": f"Bearer {make_token(company.id)}"})
    assert resp.status_code == 422 and "companyId" in resp.json()["error"]["message"]
    assert await flow.snapshot(sessionmaker) == before


async def test_a_callback_from_another_browser_is_refused_and_the_state_survives(
        client, app, sandbox, company, auth_headers, sessionmaker):
    """RFC 9700: whoever gets an admin to approve *their* authorize link must not attach the admin's realm
    to their company. The admin's browser never got the binding cookie of that flow, so it is refused."""
    realm_id = (await flow.new_realm(sandbox))["realmId"]
    resp = await client.get(f"{flow.API}/connect", params={"companyId": str(company.id), "format": "json"},
                            headers=auth_headers)
    cookie = resp.headers["set-cookie"].lower()
    assert "qbo_oauth_binding=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "path=/api/v1/integrations/quickbooks/callback" in cookie and "max-age=600" in cookie
    params = await flow.consent(sandbox, resp.json()["authorizeUrl"], realm_id)
    before = await flow.snapshot(sessionmaker)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as other:
        status, code, message = await _error(await flow.callback(other, params))
        assert (status, code) == (400, "state_not_bound") and "not started in this browser" in message
        html = await flow.callback(other, params, html=True)
        assert html.status_code == 302 and html.headers["location"].endswith("reason=state_not_bound")
        wrong = await flow.callback(other, params, bound_to="some-other-state")
        assert (await _error(wrong))[1] == "state_not_bound"
    assert await flow.snapshot(sessionmaker) == before  # nothing stored, the state not consumed
    done = await flow.callback(client, params)  # the browser that started it still finishes
    assert done.status_code == 200, done.text
    assert 'qbo_oauth_binding=""' in done.headers["set-cookie"] or "max-age=0" in done.headers["set-cookie"].lower()
