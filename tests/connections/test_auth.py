"""Every /api/v1/integrations/* route (found in app.routes, so other domains' routes are covered too)
refuses missing, expired, forged, wrong-audience/issuer and cross-company tokens, changing nothing."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from qbo_integration.core_platform.models import Company
from tests.connections import flow

PUBLIC_ROUTES = {"/api/v1/integrations/quickbooks/callback",  # the state authenticates it
                 "/api/v1/integrations/quickbooks/webhooks"}  # intuit-signature does (tests/webhooks)


def integration_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route under /api/v1/integrations/, walking included routers too."""
    found: set[tuple[str, str]] = set()

    def walk(routes) -> None:
        for r in routes:
            contexts = getattr(r, "effective_route_contexts", None)
            if contexts is not None:  # fastapi >= 0.16x: an included router
                for c in contexts():
                    for m in getattr(c.original_route, "methods", None) or ():
                        found.add((m, c.path))
                continue
            if getattr(r, "routes", None) and not getattr(r, "methods", None):
                walk(r.routes)
                continue
            for m in getattr(r, "methods", None) or ():
                found.add((m, r.path))

    walk(app.routes)
    return sorted((m, p) for m, p in found
                  if p.startswith("/api/v1/integrations/") and p not in PUBLIC_ROUTES and m != "HEAD")


def _claims(settings, cid, **over) -> dict:
    now = int(time.time())
    claims = {"sub": "user-1", "company_id": str(cid), "role": "admin", "iss": settings.jwt_issuer,
              "aud": settings.jwt_audience, "iat": now, "exp": now + 600}
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def bad_tokens(settings, company_id) -> dict[str, str | None]:
    secret = settings.jwt_secret.get_secret_value()
    return {
        "missing": None,
        "not bearer": "Basic dXNlcjpwYXNz",
        "garbage": "Bearer not.a.jwt",
        "expired": "Bearer " + jwt.encode(_claims(settings, company_id, exp=int(time.time()) - 60), secret),
        "forged (wrong key)": "Bearer " + jwt.encode(_claims(settings, company_id), "another-secret-0123456789abcdef"),
        "unsigned (alg none)": "Bearer " + jwt.encode(_claims(settings, company_id), None, algorithm="none"),
        "wrong audience": "Bearer " + jwt.encode(_claims(settings, company_id, aud="someone-else"), secret),
        "wrong issuer": "Bearer " + jwt.encode(_claims(settings, company_id, iss="evil"), secret),
        "no exp": "Bearer " + jwt.encode(_claims(settings, company_id, exp=None), secret),
        "bad role": "Bearer " + jwt.encode(_claims(settings, company_id, role="owner"), secret),
        "no company": "Bearer " + jwt.encode(_claims(settings, company_id, company_id=None), secret),
    }


# The rest of a valid body, so the cross-company case reaches the company check, not body validation.
VALID_BODY_EXTRAS: dict[str, dict] = {
    "/dry-run": {"startDate": "2026-11-01", "endDate": "2026-11-07"},
    "/live-sync": {"enabled": True},
    "/mapping/profiles": {"profileName": "Cross company"},
    "/test-mapping": {"timecardId": str(uuid.uuid4())},
    "/mapping": {"mapping": {}},
    "/sync-settings": {"syncStartDate": "2026-11-01"},
    "/resolve": {"action": "dismiss"},
    "/decision": {"decision": "skip"},
    "/directory/merge": {"entityType": "Employee", "fromId": str(uuid.uuid4()), "intoId": str(uuid.uuid4())},
}


def _request_for(path: str, company_id: uuid.UUID) -> dict:
    concrete = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
    extras = next((v for k, v in VALID_BODY_EXTRAS.items() if path.endswith(k)), {})
    return {"url": concrete, "params": {"companyId": str(company_id)},
            "json": {"companyId": str(company_id), **extras}}


async def _send(client, method: str, path: str, company_id: uuid.UUID, auth: str | None):
    req = _request_for(path, company_id)
    headers = {"Authorization": auth} if auth else {}
    if method in ("GET", "DELETE"):
        return await client.request(method, req["url"], params=req["params"], headers=headers,
                                    **({"json": req["json"]} if method == "DELETE" else {}))
    return await client.request(method, req["url"], params=req["params"], json=req["json"], headers=headers)


def _fastapi_app(settings):
    from qbo_integration.app import create_app

    return create_app(settings)  # the same routes as the running `app` fixture (which is wrapped)


async def test_route_table_is_found(settings):
    routes = integration_routes(_fastapi_app(settings))
    assert ("GET", "/api/v1/integrations/quickbooks/connect") in routes
    assert ("POST", "/api/v1/integrations/quickbooks/test-connection") in routes
    assert ("DELETE", "/api/v1/integrations/quickbooks/disconnect") in routes
    assert ("GET", "/api/v1/integrations/quickbooks/connection") in routes
    assert all(p != "/api/v1/integrations/quickbooks/callback" for _, p in routes)


REQUIRED_CASES = ("missing", "expired", "forged (wrong key)", "wrong audience")
OWN_ROUTES = ("/connect", "/test-connection", "/disconnect", "/connection")


@pytest.mark.timeout(900)
async def test_every_route_refuses_bad_tokens_and_changes_nothing(client, connected_company, settings,
                                                                   sessionmaker, make_token):
    """Every route: missing, expired, forged, wrong-audience -> 401; another company's token -> 403.
    Our own routes also get every other malformed token. Row counts and the integration unchanged."""
    cid = connected_company.company_id
    async with sessionmaker() as s:
        other = Company(id=uuid.uuid4(), name="Other Co", timezone="UTC", admin_email="o@other.test")
        s.add(other)
        await s.commit()
    routes = integration_routes(_fastapi_app(settings))
    assert len(routes) >= 4
    tokens = bad_tokens(settings, cid)
    cross = f"Bearer {make_token(other.id)}"
    before = await flow.snapshot(sessionmaker)

    async def check(method: str, path: str) -> list[str]:
        own = path.endswith(OWN_ROUTES)
        cases = {k: v for k, v in tokens.items() if own or k in REQUIRED_CASES}
        answers = await asyncio.gather(*(_send(client, method, path, cid, auth) for auth in cases.values()),
                                       _send(client, method, path, cid, cross))
        problems = [f"{method} {path} [{label}] -> {r.status_code}" for label, r in zip(cases, answers, strict=False)
                    if r.status_code != 401 or r.headers.get("www-authenticate") != "Bearer"]
        r = answers[-1]  # a valid admin token of another company: 403 for our company's data
        if r.status_code != 403 and not ("{" in path and r.status_code == 404):
            problems.append(f"{method} {path} [cross-company] -> {r.status_code} {r.text[:200]}")
        return problems

    failures = [p for ps in await asyncio.gather(*(check(m, p) for m, p in routes)) for p in ps]
    assert not failures, "\n".join(failures)
    assert await flow.snapshot(sessionmaker) == before


async def test_changing_routes_need_the_admin_role(client, connected_company, sessionmaker, make_token):
    cid = connected_company.company_id
    before = await flow.snapshot(sessionmaker)
    for role in ("supervisor", "field_worker"):
        h = {"Authorization": f"Bearer {make_token(cid, role=role)}"}
        for method, path in (("GET", "/connect"), ("POST", "/test-connection"), ("DELETE", "/disconnect")):
            resp = await _send(client, method, flow.API + path, cid, h["Authorization"])
            assert resp.status_code == 403, (role, path, resp.text)
            assert "admin" in resp.json()["error"]["message"]
    assert await flow.snapshot(sessionmaker) == before


# ------------------------------------------------------------------ RS256 via a JWKS URL


class _Jwks:
    def __init__(self, jwks: dict) -> None:
        body = json.dumps(jwks).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Jwks:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict:
    data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid, "use": "sig", "alg": "RS256"}


@pytest.fixture
def rsa_keys() -> Iterator[tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]]:
    yield (rsa.generate_private_key(public_exponent=65537, key_size=2048),
           rsa.generate_private_key(public_exponent=65537, key_size=2048))


async def test_rs256_tokens_verified_with_the_jwks(test_services, sandbox_server, company, sessionmaker, redis,
                                                   rsa_keys):
    import httpx
    from asgi_lifespan import LifespanManager

    from qbo_integration.app import create_app
    from qbo_integration.config import Settings

    good, stranger = rsa_keys
    with _Jwks({"keys": [_jwk(good, "core-1")]}) as jwks:
        settings = Settings(QBOI_ENV="test", DATABASE_URL=test_services.database_url,
                            REDIS_URL=test_services.redis_url, JWT_JWKS_URL=jwks.url,
                            QBO_API_BASE_URL=sandbox_server.base_url, QBO_DISCOVERY_URL="")
        app = create_app(settings)
        async with LifespanManager(app) as manager:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app),
                                         base_url="http://testserver") as client:
                url = f"{flow.API}/connection"
                params = {"companyId": str(company.id)}

                def rs(key, kid, **over) -> dict:
                    token = jwt.encode(_claims(settings, company.id, **over), key, algorithm="RS256",
                                       headers={"kid": kid})
                    return {"Authorization": f"Bearer {token}"}

                ok = await client.get(url, params=params, headers=rs(good, "core-1"))
                assert ok.status_code == 200, ok.text
                assert ok.json()["status"] == "never_connected"
                cases = {
                    "signed by another key, same kid": rs(stranger, "core-1"),
                    "unknown kid": rs(stranger, "core-2"),
                    "expired": rs(good, "core-1", exp=int(time.time()) - 5),
                    "wrong audience": rs(good, "core-1", aud="other"),
                    "HS256 with the shared secret (alg confusion)": {"Authorization": "Bearer " + jwt.encode(
                        _claims(settings, company.id), settings.jwt_secret.get_secret_value())},
                }
                for label, headers in cases.items():
                    resp = await client.get(url, params=params, headers=headers)
                    assert resp.status_code == 401, (label, resp.text)
