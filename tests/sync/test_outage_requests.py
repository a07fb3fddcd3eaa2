"""A request that needs Redis or the database while it is down (restarting, failing over) gets a 503
that says which and when to retry, not a 500 "Internal server error" with a traceback in the logs."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from asgi_lifespan import LifespanManager

from tests.private_redis import PrivateRedis

P = "/api/v1/integrations/quickbooks"


@pytest.fixture
async def outage_client(settings, tmp_path):
    from qbo_integration.app import create_app

    own = PrivateRedis(tmp_path)
    app = create_app(settings.model_copy(update={"redis_url": own.url}))
    try:
        async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c, own
    finally:
        own.stop()


async def test_sync_now_while_redis_is_down_is_a_503_with_retry_after(outage_client, live, auth_headers):
    client, own = outage_client
    _, core = live
    body = {"companyId": str(core.company_id)}
    assert (await client.post(f"{P}/sync-now", json=body, headers=auth_headers)).status_code == 202
    await asyncio.to_thread(own.stop)
    r = await client.post(f"{P}/sync-now", json=body, headers=auth_headers)
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "5"
    err = r.json()["error"]
    assert err["code"] == "unavailable" and "Redis" in err["message"] and "Try again" in err["message"]
    await asyncio.to_thread(own.start)
    assert (await client.post(f"{P}/sync-now", json=body, headers=auth_headers)).status_code == 202


async def test_a_request_while_the_database_is_unreachable_is_a_503_naming_it(settings, make_token):
    from qbo_integration.app import create_app
    from qbo_integration.devstack.embedded import free_port

    closed = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    app = create_app(settings.model_copy(update={"database_url": closed}))
    company = uuid.uuid4()
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver") as c:
            r = await c.post(f"{P}/sync-now", json={"companyId": str(company)},
                             headers={"Authorization": f"Bearer {make_token(company)}"})
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "5"
    assert r.json()["error"]["message"] == ("A service this request needs (the database) did not answer. "
                                            "Try again in 5 seconds.")
