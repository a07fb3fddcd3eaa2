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


async def _jobs_of(sessionmaker, company_id) -> list[tuple[str, str, dict, list]]:
    from sqlalchemy import select

    from qbo_integration.sync.models import SyncJob

    async with sessionmaker() as s:
        rows = (await s.execute(select(SyncJob).where(SyncJob.company_id == company_id)
                                .order_by(SyncJob.created_at))).scalars().all()
    return [(j.kind, j.status, dict(j.results or {}), list(j.errors or [])) for j in rows]


async def test_a_sync_now_answered_503_leaves_no_job_pending(outage_client, live, auth_headers, sessionmaker):
    """Its row was committed before the enqueue failed: it used to show "pending" for 30 minutes."""
    client, own = outage_client
    _, core = live
    await asyncio.to_thread(own.stop)
    r = await client.post(f"{P}/sync-now", json={"companyId": str(core.company_id)}, headers=auth_headers)
    assert r.status_code == 503, r.text
    [(kind, status, results, _)] = await _jobs_of(sessionmaker, core.company_id)
    assert (kind, status, results["lost"]) == ("timecards", "failed", "unqueued")
    assert "could not be queued" in results["note"] and "Sync Now again" in results["note"]


async def test_a_directory_import_answered_503_leaves_no_job_pending(outage_client, live, auth_headers, sessionmaker):
    client, own = outage_client
    company, _ = live
    await asyncio.to_thread(own.stop)
    r = await client.post(f"{P}/directory/import", json={"companyId": str(company.company_id), "mode": "full"},
                          headers=auth_headers)
    assert r.status_code == 503, r.text
    [(kind, status, results, errors)] = await _jobs_of(sessionmaker, company.company_id)
    assert (kind, status, results["lost"]) == ("directory_import", "failed", "unqueued")
    assert "could not be queued" in errors[0]["message"]


async def test_a_connection_lost_inside_the_enqueues_watch_is_a_503_too(client, live, auth_headers, sessionmaker,
                                                                         monkeypatch):
    """redis-py says WatchError("A ConnectionError occurred on while watching ...") when the connection
    drops inside arq's WATCH: the operations campaign's Sync Now got a 500 for it during a Redis restart."""
    from redis.exceptions import WatchError

    from qbo_integration.queue import JobQueue

    async def dropped(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise WatchError("A ConnectionError occurred on while watching one or more keys")

    monkeypatch.setattr(JobQueue, "enqueue", dropped)
    _, core = live
    r = await client.post(f"{P}/sync-now", json={"companyId": str(core.company_id)}, headers=auth_headers)
    assert r.status_code == 503, r.text
    assert "Redis" in r.json()["error"]["message"] and r.headers["Retry-After"] == "5"
    [(_, status, results, _)] = await _jobs_of(sessionmaker, core.company_id)
    assert (status, results["lost"]) == ("failed", "unqueued")
