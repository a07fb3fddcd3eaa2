"""The exact requests issue 14 found answered with a 500 (or a cut stream): each is now a 4xx in the one
error format, with a message a person can act on, and changes nothing."""

from __future__ import annotations

import json
import logging
import uuid

import jwt
import pytest
from sqlalchemy import select

from qbo_integration.connections.models import OAuthState
from qbo_integration.monitoring.models import AuditLogEntry
from tests.api.helpers import db_state, error_of
from tests.connections import flow
from tests.connections.test_auth import _claims, _jwk, _Jwks

P = flow.API
FAR = "9999-12-31"


# ------------------------------------------------------------------ malformed bearer tokens with a JWKS URL
async def test_malformed_tokens_with_a_jwks_url_answer_401_without_an_error_log(test_services, sandbox_server,
                                                                                company, sessionmaker, redis, caplog):
    import httpx
    from asgi_lifespan import LifespanManager
    from cryptography.hazmat.primitives.asymmetric import rsa

    from qbo_integration.app import create_app
    from qbo_integration.config import Settings

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with _Jwks({"keys": [_jwk(key, "core-1")]}) as jwks:
        settings = Settings(QBOI_ENV="test", DATABASE_URL=test_services.database_url,
                            REDIS_URL=test_services.redis_url, JWT_JWKS_URL=jwks.url,
                            QBO_API_BASE_URL=sandbox_server.base_url, QBO_DISCOVERY_URL="")
        app = create_app(settings)
        async with LifespanManager(app) as manager, httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver") as client:
            caplog.set_level(logging.INFO)
            params = {"companyId": str(company.id)}
            for token in ("garbage", "a.b.c"):
                for method, path in (("GET", "/connection"), ("GET", "/audit-log"), ("POST", "/sync-now")):
                    resp = await client.request(method, f"{P}{path}", params=params, json=params,
                                                headers={"Authorization": f"Bearer {token}"})
                    assert resp.status_code == 401, (token, path, resp.text)
                    assert "not a well-formed JWT" in error_of(resp)["message"]
            # a JWT whose sub PostgreSQL cannot store, or that is too long for the audit log's actor
            for sub in ("admin\x00", "a" * 201):
                token = jwt.encode({**_claims(settings, company.id), "sub": sub}, key, algorithm="RS256",
                                   headers={"kid": "core-1"})
                resp = await client.post(f"{P}/breaker/reset", json=params,
                                         headers={"Authorization": f"Bearer {token}"})
                assert resp.status_code == 401, resp.text
                assert "sub claim" in error_of(resp)["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]


# ------------------------------------------------------------------ far dates
@pytest.mark.parametrize("dates", [{"endDate": FAR}, {"startDate": FAR}, {"startDate": FAR, "endDate": FAR},
                                   {"startDate": "0001-01-01"}])
async def test_far_dates_answer_422_naming_the_bounds(client, connected_company, auth_headers, sessionmaker, dates):
    cid = str(connected_company.company_id)
    before = await db_state(sessionmaker)
    field = next(iter(dates))
    for path in ("/audit-log", "/audit-log.csv", "/export-csv"):
        resp = await client.get(f"{P}{path}", params={"companyId": cid, **dates}, headers=auth_headers)
        assert resp.status_code == 422, (path, resp.text)  # audit-log.csv: a whole JSON answer, not a cut stream
        err = error_of(resp)
        assert err["message"].startswith(f"{field}: must be a date between 2000-01-01 and 2099-12-31"), err
    body = {"companyId": cid, "startDate": "2026-01-01", "endDate": "2026-01-31", **dates}
    resp = await client.post(f"{P}/dry-run", json=body, headers=auth_headers)
    assert resp.status_code == 422, resp.text
    assert "must be a date between 2000-01-01 and 2099-12-31" in error_of(resp)["message"]
    assert await db_state(sessionmaker) == before


async def test_audit_csv_in_range_still_streams(client, connected_company, auth_headers):
    resp = await client.get(f"{P}/audit-log.csv", headers=auth_headers, params={
        "companyId": str(connected_company.company_id), "startDate": "2099-12-31", "endDate": "2099-12-31"})
    assert resp.status_code == 200 and resp.text.startswith("\ufeffcreatedAt,action"), resp.text[:200]


# ------------------------------------------------------------------ NUL and other unstorable text
@pytest.mark.parametrize("bad", ["Main\x00", "Main\ud800"], ids=["nul", "lone-surrogate"])
async def test_unstorable_profile_names_answer_422_naming_the_field(client, connected_company, auth_headers,
                                                                    sessionmaker, caplog, bad):
    cid = str(connected_company.company_id)
    before = await db_state(sessionmaker)
    caplog.set_level(logging.DEBUG)
    for method, path, body, field in (
            ("POST", "/mapping/profiles", {"companyId": cid, "profileName": bad}, "profileName"),
            ("PUT", "/mapping", {"companyId": cid, "mapping": {"profileName": bad}}, "mapping.profileName")):
        # json.dumps escapes the lone surrogate as \ud800, as a JavaScript client would send it
        resp = await client.request(method, f"{P}{path}", content=json.dumps(body),
                                    headers={**auth_headers, "Content-Type": "application/json"})
        assert resp.status_code == 422, (path, resp.text)
        err = error_of(resp)
        assert err["message"].startswith(f"{field}: "), err
        assert err["details"][0]["field"] == field
    assert await db_state(sessionmaker) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or "parameters" in r.getMessage()]


async def test_nul_in_the_callback_error_uses_up_the_state_audits_and_answers_422(client, sandbox, company,
                                                                                   auth_headers, sessionmaker):
    realm_id = (await flow.new_realm(sandbox))["realmId"]
    url = await flow.start(client, company.id, auth_headers)
    params = await flow.consent(sandbox, url, realm_id, decision="deny")
    resp = await flow.callback(client, {**params, "error": "access_denied\x00"})
    assert resp.status_code == 422, resp.text
    err = error_of(resp)
    assert err["message"].startswith("error: must not contain NUL") and err["details"][0]["field"] == "error"
    async with sessionmaker() as s:
        assert (await s.execute(select(OAuthState.used_at))).scalar_one() is not None
        audit = (await s.execute(select(AuditLogEntry.action, AuditLogEntry.status,
                                        AuditLogEntry.error_message))).all()
    assert [(a, st) for a, st, _ in audit] == [("connect", "failure")]
    assert "\x00" not in audit[0][2]
    resp = await flow.callback(client, params)  # the state is used up
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "state_used", resp.text


# ------------------------------------------------------------------ other companies' ids
async def test_other_companies_ids_answer_exactly_like_unknown_ids(client, connected_company, auth_headers,
                                                                   sessionmaker):
    from qbo_integration.core_platform.models import Company
    from qbo_integration.sync.models import SyncJob
    from tests.support import sync as h

    cid = str(connected_company.company_id)
    async with sessionmaker() as s:
        other = Company(id=uuid.uuid4(), name="Other", timezone="UTC")
        s.add(other)
        await s.flush()
        job = SyncJob(id=uuid.uuid4(), integration_id=connected_company.integration_id, company_id=other.id,
                      status="pending")
        s.add(job)
        await s.commit()
    foreign_tc = await h.add_timecard(sessionmaker, await h.seed_core(sessionmaker, other.id))
    unknown = uuid.uuid4()
    before = await db_state(sessionmaker)

    def same(a, b, a_id, b_id) -> None:
        assert a.status_code == b.status_code == 404, (a.text, b.text)
        ea, eb = error_of(a), error_of(b)
        assert (ea["code"], ea["message"].replace(str(a_id), "ID"), json.dumps(ea.get("details")).replace(
            str(a_id), "ID")) == (eb["code"], eb["message"].replace(str(b_id), "ID"),
                                  json.dumps(eb.get("details")).replace(str(b_id), "ID"))

    same(await client.get(f"{P}/sync-status/{job.id}", headers=auth_headers),
         await client.get(f"{P}/sync-status/{unknown}", headers=auth_headers), job.id, unknown)
    await h.enable_live_sync(sessionmaker, connected_company.company_id, enabled=True)
    before = await db_state(sessionmaker)
    for path in ("/sync-now", "/dead-letters/requeue"):
        same(await client.post(f"{P}{path}", json={"companyId": cid, "timecardIds": [str(foreign_tc)]},
                               headers=auth_headers),
             await client.post(f"{P}{path}", json={"companyId": cid, "timecardIds": [str(unknown)]},
                               headers=auth_headers), foreign_tc, unknown)
    assert await db_state(sessionmaker) == before


# ------------------------------------------------------------------ body size limit
async def test_bodies_over_the_limit_answer_413(test_services, sandbox_server, company, sessionmaker, redis,
                                                make_token):
    import httpx
    from asgi_lifespan import LifespanManager

    from qbo_integration.app import create_app
    from qbo_integration.config import Settings

    settings = Settings(QBOI_ENV="test", DATABASE_URL=test_services.database_url, REDIS_URL=test_services.redis_url,
                        QBO_API_BASE_URL=sandbox_server.base_url, QBO_DISCOVERY_URL="", MAX_REQUEST_BODY_BYTES=4096)
    before = await db_state(sessionmaker)
    body = json.dumps({"companyId": str(company.id), "profileName": "x" * 5000}).encode()
    headers = {"Authorization": f"Bearer {make_token(company.id)}", "Content-Type": "application/json"}

    async def chunked():
        for i in range(0, len(body), 1000):
            yield body[i:i + 1000]

    async with LifespanManager(create_app(settings)) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver") as client:
        for content in (body, chunked()):  # with a Content-Length, and streamed without one
            resp = await client.post(f"{P}/mapping/profiles", content=content, headers=headers)
            assert resp.status_code == 413, resp.text
            err = error_of(resp)
            assert err["code"] == "too_large" and "4096 bytes" in err["message"], err
        small = await client.post(f"{P}/mapping/profiles", headers=headers,
                                  content=json.dumps({"companyId": str(company.id), "profileName": "x" * 101}))
        assert small.status_code == 422, small.text  # under the limit: the body reaches validation as before
    assert await db_state(sessionmaker) == before
