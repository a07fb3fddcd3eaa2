"""POST /webhooks over the app: signature, dedupe, realms, bounds. Nothing is stored unless verified."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from qbo_integration.webhooks.models import WebhookEvent
from qbo_integration.webhooks.signature import sign

URL = "/api/v1/integrations/quickbooks/webhooks"


def _ce(id_: str, realm: str, type_: str = "qbo.employee.updated.v1", entity_id: str = "2") -> dict:
    return {"specversion": "1.0", "id": id_, "source": "intuit", "type": type_, "datacontenttype": "application/json",
            "time": "2026-12-01T10:00:00Z", "intuitentityid": entity_id, "intuitaccountid": realm, "data": {}}


async def _stored(sessionmaker) -> list[WebhookEvent]:
    async with sessionmaker() as s:
        return list((await s.execute(select(WebhookEvent).order_by(WebhookEvent.event_id))).scalars())


async def _post(client, settings, payload, *, signature: str | None = "good", **headers):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if signature == "good":
        signature = sign(body, settings.webhook_verifier())
    if signature is not None:
        headers["intuit-signature"] = signature
    return await client.post(URL, content=body, headers={"content-type": "application/json", **headers})


async def test_missing_or_bad_signature_is_401_and_stores_nothing(client, settings, sessionmaker, connected_company):
    payload = [_ce("e1", connected_company.realm_id)]
    missing = await _post(client, settings, payload, signature=None)
    bad = await _post(client, settings, payload, signature=sign(b"other body", settings.webhook_verifier()))
    for resp in (missing, bad):
        assert resp.status_code == 401, resp.text
        assert "intuit-signature" in resp.json()["error"]["message"]
    assert await _stored(sessionmaker) == []


async def test_good_delivery_is_stored_once_and_replays_are_duplicates(client, settings, sessionmaker,
                                                                        connected_company):
    realm = connected_company.realm_id
    payload = [_ce("e1", realm), _ce("e2", realm, "qbo.timeactivity.deleted.v1", "14"), _ce("e1", realm)]
    first = await _post(client, settings, payload)
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 3, "stored": 2, "duplicates": 1, "unknownRealm": 0}
    replay = await _post(client, settings, payload)  # Intuit redelivers at least once
    assert replay.json() == {"received": 3, "stored": 0, "duplicates": 3, "unknownRealm": 0}
    rows = await _stored(sessionmaker)
    assert [(r.event_id, r.entity, r.entity_id, r.operation, r.company_id, r.status) for r in rows] == [
        ("ce:e1", "Employee", "2", "Update", connected_company.company_id, "pending"),
        ("ce:e2", "TimeActivity", "14", "Delete", connected_company.company_id, "pending")]


async def test_mixed_realm_delivery_keeps_ours_and_acknowledges_unknown(client, settings, sessionmaker,
                                                                        connected_company):
    payload = {"eventNotifications": [
        {"realmId": "999000111", "dataChangeEvent": {"entities": [
            {"name": "Customer", "id": "3", "operation": "Update", "lastUpdated": "2026-12-01T10:00:00Z"}]}},
        {"realmId": connected_company.realm_id, "dataChangeEvent": {"entities": [
            {"name": "Customer", "id": "3", "operation": "Update", "lastUpdated": "2026-12-01T10:00:00Z"}]}}]}
    resp = await _post(client, settings, payload)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"received": 2, "stored": 1, "duplicates": 0, "unknownRealm": 1}
    rows = await _stored(sessionmaker)
    assert [r.realm_id for r in rows] == [connected_company.realm_id]


async def test_malformed_body_is_400_after_the_signature(client, settings, sessionmaker, connected_company):
    resp = await _post(client, settings, b'{"hello": "world"}')
    assert resp.status_code == 400
    assert "not a webhook delivery" in resp.json()["error"]["message"]
    assert await _stored(sessionmaker) == []


async def test_oversize_body_is_413(client, settings, sessionmaker, connected_company):
    big = [_ce(f"e{n}", connected_company.realm_id) for n in range(6000)]
    body = json.dumps(big).encode()
    assert len(body) > settings.webhook_max_body_bytes
    resp = await _post(client, settings, body)
    assert resp.status_code == 413
    assert str(settings.webhook_max_body_bytes) in resp.json()["error"]["message"]
    assert await _stored(sessionmaker) == []


async def test_not_configured_refuses_everything(client, settings, sessionmaker, connected_company, monkeypatch):
    monkeypatch.setattr(type(settings), "webhook_verifier", lambda self: None)
    resp = await _post(client, settings, [_ce("e1", connected_company.realm_id)], signature="x")
    assert resp.status_code == 401
    assert "QBO_WEBHOOK_VERIFIER_TOKEN" in resp.json()["error"]["message"]


@pytest.mark.parametrize("env,token,usable", [("production", "dev-only-webhook-verifier", False),
                                              ("production", "", False), ("production", "s3cr3t-from-intuit", True),
                                              ("dev", "dev-only-webhook-verifier", True)])
def test_placeholder_verifier_never_authenticates_in_production(env, token, usable):
    from qbo_integration.config import Settings

    s = Settings(QBOI_ENV=env, QBO_WEBHOOK_VERIFIER_TOKEN=token)  # type: ignore[call-arg]
    assert (s.webhook_verifier() is not None) is usable


async def test_rate_limited_per_sender(client, settings, sessionmaker, connected_company, monkeypatch):
    from qbo_integration.webhooks import endpoints

    window = 60.0 * (10_000_000 + uuid.uuid4().int % 1_000_000)  # a minute no other test has counted in
    monkeypatch.setattr(endpoints, "_clock", lambda: window)
    settings.webhook_rate_per_minute = 3
    try:
        answers = [(await _post(client, settings, [_ce(f"r{n}-{uuid.uuid4()}", connected_company.realm_id)])).status_code
                   for n in range(5)]
    finally:
        settings.webhook_rate_per_minute = 600
    assert answers.count(200) == 3 and answers.count(429) == 2, answers
    async with sessionmaker() as s:
        assert (await s.execute(select(func.count()).select_from(WebhookEvent))).scalar_one() == 3


async def test_a_late_event_queues_one_reconciliation(client, settings, sessionmaker, connected_company, redis):
    """Events hours old went through Intuit's retries: some may be lost, so the books are reconciled."""
    from qbo_integration.worker.queue import QUEUE_NAME

    late = [dict(_ce(f"late-{n}", connected_company.realm_id), time="2026-01-01T00:00:00Z") for n in range(2)]
    resp = await _post(client, settings, late)
    assert resp.status_code == 200 and resp.json()["stored"] == 2
    jobs = [j.decode() if isinstance(j, bytes) else j for j in await redis.zrange(QUEUE_NAME, 0, -1)]
    gap = [j for j in jobs if j.startswith(f"reconcile:{connected_company.company_id}:gap:")]
    assert len(gap) == 1, jobs
    fresh = await _post(client, settings, [_ce("late-3", connected_company.realm_id) | {"time": "2026-01-01T00:00:00Z"},
                                           _ce("fresh-1", connected_company.realm_id)])
    assert fresh.status_code == 200 and fresh.json()["stored"] == 2  # late again, within the same hour
    jobs = [j.decode() if isinstance(j, bytes) else j for j in await redis.zrange(QUEUE_NAME, 0, -1)]
    assert len([j for j in jobs if j.startswith(f"reconcile:{connected_company.company_id}:gap:")]) == 1
