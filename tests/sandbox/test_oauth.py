"""OAuth 2.0 like Intuit's: consent, codes, PKCE, rotation, revoke, expiry, discovery."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlparse

import httpx

from .conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT, new_company

SCOPE = "com.intuit.quickbooks.accounting"
BASIC = httpx.BasicAuth(CLIENT_ID, CLIENT_SECRET)


def _params(**extra) -> dict:
    return {"client_id": CLIENT_ID, "response_type": "code", "scope": SCOPE, "redirect_uri": REDIRECT,
            "state": "st-123", **extra}


def _query(resp: httpx.Response) -> dict:
    assert resp.status_code == 302, resp.text
    loc = resp.headers["location"]
    assert loc.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlparse(loc).query).items()}


async def _consent(http, decision: str, realm_id: str, **extra) -> dict:
    page = await http.get("/connect/oauth2", params=_params(**extra))
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Connect" in page.text and "Deny" in page.text and realm_id in page.text
    form = {**_params(**extra), "decision": decision, "realmId": realm_id}
    return _query(await http.post("/connect/oauth2/decision", data=form))


async def _exchange(http, code: str, **extra) -> httpx.Response:
    return await http.post("/oauth2/v1/tokens/bearer", auth=BASIC,
                           data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                 **extra})


async def _refresh(http, token: str, auth=BASIC) -> httpx.Response:
    return await http.post("/oauth2/v1/tokens/bearer", auth=auth,
                           data={"grant_type": "refresh_token", "refresh_token": token})


async def test_discovery_lists_absolute_endpoints(http, server):
    r = await http.get("/.well-known/openid_configuration")
    doc = r.json()
    assert r.status_code == 200 and "intuit_tid" in r.headers
    assert doc["authorization_endpoint"] == server.base_url + "/connect/oauth2"
    assert doc["token_endpoint"] == server.base_url + "/oauth2/v1/tokens/bearer"
    assert doc["revocation_endpoint"] == server.base_url + "/v2/oauth2/tokens/revoke"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["issuer"].startswith(server.base_url)


async def test_consent_approve_then_code_exchange(http, server):
    realm_id = server.realm_ids[1]
    q = await _consent(http, "approve", realm_id)
    assert q["state"] == "st-123" and q["realmId"] == realm_id and q["code"]
    r = await _exchange(http, q["code"])
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8726400
    assert body["access_token"] and body["refresh_token"]
    api = await http.get(f"/v3/company/{realm_id}/companyinfo/{realm_id}",
                         headers={"Authorization": f"Bearer {body['access_token']}"})
    assert api.status_code == 200 and api.json()["CompanyInfo"]["CompanyName"]
    # codes are single use
    again = await _exchange(http, q["code"])
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}


async def test_consent_deny_redirects_access_denied(http, server):
    q = await _consent(http, "deny", server.realm_ids[0])
    assert q == {"error": "access_denied", "state": "st-123"}


async def test_unregistered_redirect_uri_is_an_error_page(http):
    r = await http.get("/connect/oauth2", params=_params(redirect_uri="http://evil.example/cb"))
    assert r.status_code == 400 and "text/html" in r.headers["content-type"]


async def test_pkce_s256(http, server):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    extra = {"code_challenge": challenge, "code_challenge_method": "S256"}
    q = await _consent(http, "approve", server.realm_ids[0], **extra)
    bad = await _exchange(http, q["code"], code_verifier="wrong-" + verifier)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    q = await _consent(http, "approve", server.realm_ids[0], **extra)
    missing = await _exchange(http, q["code"])
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant"
    q = await _consent(http, "approve", server.realm_ids[0], **extra)
    ok = await _exchange(http, q["code"], code_verifier=verifier)
    assert ok.status_code == 200 and ok.json()["access_token"]


async def test_auto_approve_setting(http, server):
    realm_id = server.realm_ids[1]
    r = await http.put("/_sandbox/settings", json={"autoApprove": True, "autoApproveRealm": realm_id})
    assert r.json() == {"autoApprove": True, "autoApproveRealm": realm_id, "refreshGraceSeconds": 0,
                        "refreshHardMaxSeconds": 5 * 365 * 86400}
    try:
        q = _query(await http.get("/connect/oauth2", params=_params()))
        assert q["realmId"] == realm_id and q["state"] == "st-123"
    finally:
        await http.put("/_sandbox/settings", json={"autoApprove": False, "autoApproveRealm": None})


async def test_bad_client_is_401_invalid_client(http, server):
    q = await _consent(http, "approve", server.realm_ids[0])
    r = await http.post("/oauth2/v1/tokens/bearer", auth=httpx.BasicAuth(CLIENT_ID, "nope"),
                        data={"grant_type": "authorization_code", "code": q["code"], "redirect_uri": REDIRECT})
    assert r.status_code == 401 and r.json() == {"error": "invalid_client"}
    r = await http.post("/oauth2/v1/tokens/bearer", data={"grant_type": "refresh_token", "refresh_token": "x"})
    assert r.status_code == 401 and r.json() == {"error": "invalid_client"}


async def test_unsupported_grant_type(http):
    r = await http.post("/oauth2/v1/tokens/bearer", auth=BASIC, data={"grant_type": "password"})
    assert r.status_code == 400 and r.json() == {"error": "unsupported_grant_type"}


async def test_refresh_rotates_and_old_token_is_invalid_grant(http):
    c = await new_company(http)
    first = c.tokens
    r = await _refresh(http, first["refresh_token"])
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    old = await _refresh(http, first["refresh_token"])
    assert old.status_code == 400 and old.json() == {"error": "invalid_grant"}
    third = await _refresh(http, second["refresh_token"])
    assert third.status_code == 200
    c.tokens = third.json()
    assert (await c.get(f"/companyinfo/{c.realm_id}")).status_code == 200


async def test_revoke_kills_access_and_refresh(http):
    c = await new_company(http)
    assert (await c.get(f"/companyinfo/{c.realm_id}")).status_code == 200
    r = await http.post("/v2/oauth2/tokens/revoke", auth=BASIC, json={"token": c.tokens["refresh_token"]})
    assert r.status_code == 200
    denied = await c.get(f"/companyinfo/{c.realm_id}")
    assert denied.status_code == 401
    assert denied.json()["fault"]["error"][0]["code"] == "3200"
    again = await _refresh(http, c.tokens["refresh_token"])
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}


async def test_revoke_requires_client_auth(http):
    r = await http.post("/v2/oauth2/tokens/revoke", json={"token": "x"})
    assert r.status_code == 401 and r.json() == {"error": "invalid_client"}


async def test_access_token_expires_after_an_hour(http, clock):
    c = await new_company(http)
    assert (await c.get(f"/companyinfo/{c.realm_id}")).status_code == 200
    clock.advance(3601)
    r = await c.get(f"/companyinfo/{c.realm_id}")
    assert r.status_code == 401
    body = r.json()
    assert set(body) == {"fault", "time"} and isinstance(body["time"], int)
    err = body["fault"]["error"][0]
    assert body["fault"]["type"] == "AUTHENTICATION" and err["code"] == "3200"
    assert err["message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert "expired" in err["detail"].lower()
    # the refresh token still works after the access token expired
    r = await _refresh(http, c.tokens["refresh_token"])
    assert r.status_code == 200


async def test_admin_expire_and_revoke(http):
    c = await new_company(http)
    assert (await c.admin("POST", "/tokens/expire")).json()["expired"] >= 1
    assert (await c.get(f"/companyinfo/{c.realm_id}")).status_code == 401
    c.tokens = (await _refresh(http, c.tokens["refresh_token"])).json()
    assert (await c.get(f"/companyinfo/{c.realm_id}")).status_code == 200
    await c.admin("POST", "/tokens/revoke")
    assert (await c.get(f"/companyinfo/{c.realm_id}")).status_code == 401
    assert (await _refresh(http, c.tokens["refresh_token"])).json() == {"error": "invalid_grant"}


async def test_missing_or_foreign_token(http, server):
    c = await new_company(http)
    r = await http.get(f"{c.base}/companyinfo/{c.realm_id}")
    assert r.status_code == 401 and r.json()["fault"]["type"] == "AUTHENTICATION"
    other = server.realm_ids[0]
    r = await http.get(f"/v3/company/{other}/companyinfo/{other}", headers=c.headers)
    assert r.status_code == 403 and r.json()["fault"]["error"][0]["code"] == "3100"
