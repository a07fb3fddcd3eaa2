from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager

from qbo_integration.app import create_app


async def test_health_is_liveness_only(client):
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["x-request-id"]


async def test_ready_checks_database_and_redis(client):
    r = await client.get("/ready")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_ready_names_what_is_down(settings, sessionmaker):
    app = create_app(settings)
    # arq's pool connects at startup; ready must still answer when Redis dies later, so patch after start.
    async with LifespanManager(app):
        from redis.asyncio import Redis

        await app.state.redis.aclose()
        app.state.redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            r = await c.get("/ready")
    assert r.status_code == 503
    body = r.json()
    assert body["checks"] == {"database": "ok", "redis": "down"}
    assert "redis" in body["error"]["message"]


async def test_request_id_is_echoed_when_safe(client):
    r = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"


async def test_unknown_route_uses_the_error_format(client):
    r = await client.get("/nope")
    assert r.status_code == 404
    err = r.json()["error"]
    assert err["code"] == "not_found"
    assert err["requestId"] == r.headers["x-request-id"]
