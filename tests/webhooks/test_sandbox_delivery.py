"""The sandbox sends signed webhooks to the live API; the job re-reads just the changed records."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from sqlalchemy import select

from qbo_integration.core_platform.models import User
from qbo_integration.webhooks import reactions
from qbo_integration.webhooks.models import WebhookEvent
from tests.console.stack import LiveApi, bind_free_socket

URL = "/api/v1/integrations/quickbooks/webhooks"


async def _events(sessionmaker, company_id: uuid.UUID) -> list[WebhookEvent]:
    async with sessionmaker() as s:
        rows = await s.execute(select(WebhookEvent).where(WebhookEvent.company_id == company_id)
                               .order_by(WebhookEvent.received_at))
        return list(rows.scalars())


async def _wait_for(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.2)


async def _user_named(sessionmaker, company_id, qbo_id: str) -> str | None:
    async with sessionmaker() as s:
        users = (await s.execute(select(User).where(User.company_id == company_id))).scalars()
        return next((u.name for u in users if (u.external_ids or {}).get("qbo") == qbo_id), None)


@pytest.fixture
async def subscribed(sandbox, imported):
    async def subscribe(url: str, token: str, **faults):
        r = await sandbox.put(f"/_sandbox/realms/{imported.realm_id}/webhook",
                              json={"url": url, "verifierToken": token, **faults})
        assert r.status_code == 200, r.text
    yield subscribe
    await sandbox.delete(f"/_sandbox/realms/{imported.realm_id}/webhook")


async def test_a_bookkeepers_rename_reaches_core_through_a_webhook(settings, sessionmaker, services, queue, redis, imported,
                                                                    sandbox, live_api, subscribed):
    cid, realm = imported.company_id, imported.realm_id
    await subscribed(f"{live_api.base_url}{URL}", settings.webhook_verifier())
    before = len((await sandbox.get(f"/_sandbox/realms/{realm}/log")).json())
    r = await sandbox.post(f"/_sandbox/realms/{realm}/entities/Employee", json={"Id": "2", "DisplayName": "Renamed Bookkeeper"})
    assert r.status_code == 200, r.text

    events = await _wait_for(lambda: _events(sessionmaker, cid))
    assert [(e.entity, e.entity_id, e.operation) for e in events] == [("Employee", "2", "Update")]
    result = await reactions.process(sessionmaker, services.qbo, queue, redis, cid)
    assert result["events"] == 1 and result["records"] == 1, result
    assert await _user_named(sessionmaker, cid, "2") == "Renamed Bookkeeper"
    assert [e.status for e in await _events(sessionmaker, cid)] == ["done"]
    calls = (await sandbox.get(f"/_sandbox/realms/{realm}/log")).json()[before:]
    assert [c["path"].rsplit("/", 1)[-1] for c in calls] == ["query"], calls  # one record re-read, no full import


async def test_duplicated_and_reordered_deliveries_store_each_event_once(settings, sessionmaker, services, queue, redis,
                                                                         imported, sandbox, live_api, subscribed):
    cid, realm = imported.company_id, imported.realm_id
    await subscribed(f"{live_api.base_url}{URL}", settings.webhook_verifier(), duplicateRate=1.0, reorder=True)
    admin = f"/_sandbox/realms/{realm}/entities"
    await sandbox.post(f"{admin}/Employee", json={"Id": "2", "DisplayName": "First Rename"})
    await sandbox.post(f"{admin}/Employee", json={"Id": "3", "DisplayName": "Other Rename"})
    await sandbox.delete(f"{admin}/Customer/1")
    events = await _wait_for(lambda: _three(sessionmaker, cid))
    assert sorted((e.entity, e.entity_id, e.operation) for e in events) == [
        ("Customer", "1", "Delete"), ("Employee", "2", "Update"), ("Employee", "3", "Update")]
    deliveries = (await sandbox.get("/_sandbox/webhooks/deliveries")).json()["items"]
    assert sum(1 for d in deliveries if d.get("status") == 200) >= 2  # every body went twice
    await reactions.process(sessionmaker, services.qbo, queue, redis, cid)
    assert await _user_named(sessionmaker, cid, "2") == "First Rename"
    assert await _user_named(sessionmaker, cid, "3") == "Other Rename"


async def _three(sessionmaker, cid):
    events = await _events(sessionmaker, cid)
    return events if len(events) >= 3 else None


async def test_a_failed_delivery_is_retried_until_the_endpoint_answers(settings, sessionmaker, imported, sandbox,
                                                                      sandbox_server, subscribed):
    from qbo_integration.app import create_app

    cid, realm = imported.company_id, imported.realm_id
    sock = bind_free_socket()  # bound, not listening yet: connections are refused
    url = f"http://127.0.0.1:{sock.getsockname()[1]}{URL}"
    hub = sandbox_server.state.webhooks
    old_scale, hub.retry_scale = hub.retry_scale, 0.05  # 10 s -> 0.5 s
    try:
        await subscribed(url, settings.webhook_verifier())
        await sandbox.post(f"/_sandbox/realms/{realm}/entities/Employee", json={"Id": "2", "DisplayName": "Late"})
        refused = await _wait_for(_refused(sandbox, url), timeout=30)
        assert refused, "the sandbox never tried the endpoint"
        api = LiveApi(lambda: create_app(settings), sock).start()
        try:
            events = await _wait_for(lambda: _events(sessionmaker, cid))
            assert [(e.entity, e.entity_id) for e in events] == [("Employee", "2")]
        finally:
            api.stop()
    finally:
        hub.retry_scale = old_scale


def _refused(sandbox, url):
    async def check():
        items = (await sandbox.get("/_sandbox/webhooks/deliveries")).json()["items"]
        return [d for d in items if d.get("url") == url and d.get("status") != 200]
    return check
