"""Where the sandbox must answer as QBO does: discovery, query validation, 10 per second, refresh grace."""

from __future__ import annotations

import httpx
import jwt

from .conftest import CLIENT_ID, CLIENT_SECRET, fault_error, new_company
from .test_limits_faults import _assert_throttled

BASIC = httpx.BasicAuth(CLIENT_ID, CLIENT_SECRET)


async def test_discovery_is_complete_and_its_keys_and_userinfo_are_served(http, server, company):
    for path in ("/.well-known/openid_configuration", "/.well-known/openid_sandbox_configuration/"):
        doc = (await http.get(path)).json()
        assert {"issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "revocation_endpoint",
                "jwks_uri", "response_types_supported", "subject_types_supported",
                "id_token_signing_alg_values_supported", "scopes_supported",
                "token_endpoint_auth_methods_supported", "claims_supported"} <= set(doc)
    keys = (await http.get(doc["jwks_uri"])).json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["kid"]
    assert jwt.PyJWK(keys[0]).key is not None  # a usable public key
    assert (await http.get(doc["userinfo_endpoint"])).status_code == 401
    me = await http.get(doc["userinfo_endpoint"], headers=company.headers)
    assert me.status_code == 200 and me.json()["sub"] and me.json()["email"]


async def test_unknown_or_unfilterable_property_is_4001(company):
    cases = [
        ("SELECT * FROM Employee WHERE PrimaryEmailAddr = 'a@b.c'",
         "QueryValidationError: property 'PrimaryEmailAddr' is not queryable"),
        ("SELECT * FROM Vendor WHERE Vendor1099 = true", "QueryValidationError: property 'Vendor1099' is not queryable"),
        ("SELECT * FROM Customer WHERE Foo = 'x'", "QueryValidationError: Property Foo not found for Entity Customer"),
        ("SELECT * FROM Employee ORDERBY HiredDate", "QueryValidationError: property 'HiredDate' is not queryable"),
        ("SELECT * FROM Class MAXRESULTS 1001",
         "QueryValidationError: value 1001 is too large. Max allowed value is 1000"),
    ]
    for sql, detail in cases:
        r = await company.query(sql)
        assert r.status_code == 400, sql
        err = fault_error(r)
        assert (err["code"], err["Message"], err["Detail"], err["type"]) == (
            "4001", "Invalid query", detail, "ValidationFault"), sql


async def test_the_services_own_queries_pass(company):
    """What directory/importer.py, mapping/refcheck.py and qbo/client.py send."""
    for sql in ("SELECT * FROM Employee WHERE Active IN (true, false) ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000",
                "SELECT * FROM Vendor WHERE Metadata.LastUpdatedTime > '2026-01-01T00:00:00-08:00' "
                "AND Active IN (true, false) ORDERBY Id",
                "SELECT * FROM Customer WHERE Id IN ('1', '2') AND Active IN (true, false)",
                "SELECT * FROM Item WHERE Active = true ORDERBY Id",
                "SELECT COUNT(*) FROM Department WHERE Active IN (true, false)",
                "SELECT * FROM TimeActivity WHERE TxnDate > '2026-01-01' ORDERBY MetaData.LastUpdatedTime"):
        r = await company.query(sql)
        assert r.status_code == 200, (sql, r.text)


async def test_eleventh_request_in_a_second_is_429(server, clock):
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as fast:  # no clock tick
        c = await new_company(fast)
        path = f"/companyinfo/{c.realm_id}"
        with clock.frozen():  # all of these inside one second, however slow the machine
            codes = [(await c.get(path)).status_code for _ in range(11)]
            assert codes == [200] * 10 + [429]
            _assert_throttled(await c.get(path))
            usage = (await c.admin("GET", "/limits")).json()
            assert usage["callsPerSecond"] == 10 and usage["callsInLastSecond"] == 10
            clock.advance(1.01)
            assert (await c.get(path)).status_code == 200
            await c.admin("PUT", "/limits", json={"enabled": False})  # the --no-limits path
            assert [(await c.get(path)).status_code for _ in range(15)] == [200] * 15


async def _code_grant(http, realm_id: str) -> dict:
    return (await http.post(f"/_sandbox/realms/{realm_id}/grants")).json()


async def _refresh(http, token: str) -> httpx.Response:
    return await http.post("/oauth2/v1/tokens/bearer", auth=BASIC,
                           data={"grant_type": "refresh_token", "refresh_token": token})


async def test_refresh_grace_zero_and_minutes(http, server, clock):
    realm = server.realm_ids[0]
    first = await _code_grant(http, realm)
    second = (await _refresh(http, first["refresh_token"])).json()
    assert (await _refresh(http, first["refresh_token"])).json() == {"error": "invalid_grant"}  # grace 0
    r = await http.put("/_sandbox/settings", json={"refreshGraceSeconds": 300})
    assert r.json()["refreshGraceSeconds"] == 300
    try:
        third = (await _refresh(http, second["refresh_token"])).json()
        clock.advance(120)
        again = await _refresh(http, second["refresh_token"])  # old, but inside its 5 minutes
        assert again.status_code == 200 and again.json()["access_token"]
        fourth = await _refresh(http, third["refresh_token"])  # superseded by `again`, still in its grace
        assert fourth.status_code == 200
        clock.advance(301)
        for old in (second, third, again.json()):
            assert (await _refresh(http, old["refresh_token"])).json() == {"error": "invalid_grant"}
        assert (await _refresh(http, fourth.json()["refresh_token"])).status_code == 200  # the newest lives
        bad = await http.put("/_sandbox/settings", json={"refreshGraceSeconds": -1})
        assert bad.status_code == 422
    finally:
        await http.put("/_sandbox/settings", json={"refreshGraceSeconds": 0})


HARD = {"x-include-refresh-token-hard-expires-in": "true"}


async def test_hard_expiry_is_reported_on_request_and_caps_the_rolling_one(http, server, clock):
    """Intuit answers `x_refresh_token_hard_expires_in` (seconds left of the grant's 5 years) only to a token
    request sending `x-include-refresh-token-hard-expires-in: true` (intuit-oauth's HardExpiresTest)."""
    realm = server.realm_ids[0]
    first = await _code_grant(http, realm)  # the admin API's grant: hard expiry always shown
    assert 5 * 365 * 86400 - 5 <= first["x_refresh_token_hard_expires_in"] <= 5 * 365 * 86400
    plain = (await _refresh(http, first["refresh_token"])).json()
    assert "x_refresh_token_hard_expires_in" not in plain and plain["x_refresh_token_expires_in"] == 8726400
    asked = await http.post("/oauth2/v1/tokens/bearer", auth=BASIC, headers=HARD,
                            data={"grant_type": "refresh_token", "refresh_token": plain["refresh_token"]})
    assert 5 * 365 * 86400 - 5 <= asked.json()["x_refresh_token_hard_expires_in"] <= 5 * 365 * 86400

    # near the end of a grant: the rolling expiry never outlives the hard one, and both count down
    near = (await http.post(f"/_sandbox/realms/{realm}/grants", json={"hardExpiresInSeconds": 10 * 86400})).json()
    assert near["x_refresh_token_hard_expires_in"] == near["x_refresh_token_expires_in"] == 10 * 86400
    clock.advance(86400)
    again = (await http.post("/oauth2/v1/tokens/bearer", auth=BASIC, headers=HARD,
                             data={"grant_type": "refresh_token", "refresh_token": near["refresh_token"]})).json()
    assert again["x_refresh_token_hard_expires_in"] == again["x_refresh_token_expires_in"]
    assert 9 * 86400 - 2 <= again["x_refresh_token_hard_expires_in"] <= 9 * 86400
    clock.advance(9 * 86400 + 1)
    assert (await _refresh(http, again["refresh_token"])).json() == {"error": "invalid_grant"}  # past the maximum

    # the maximum for new grants is a setting (what the service's tests use to bring the end near)
    assert (await http.put("/_sandbox/settings", json={"refreshHardMaxSeconds": 3600})).json()[
        "refreshHardMaxSeconds"] == 3600
    try:
        assert (await _code_grant(http, realm))["x_refresh_token_hard_expires_in"] == 3600
        for bad in (-1, "3600", True, 1.5):
            r = await http.put("/_sandbox/settings", json={"refreshHardMaxSeconds": bad})
            assert r.status_code == 422, bad
        r = await http.post(f"/_sandbox/realms/{realm}/grants", json={"hardExpiresInSeconds": -5})
        assert r.status_code == 422
    finally:
        await http.put("/_sandbox/settings", json={"refreshHardMaxSeconds": 5 * 365 * 86400})
