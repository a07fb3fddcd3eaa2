"""Signed deliveries that a careless parser or writer would answer with a 500: every one through the route.

A 500 makes Intuit redeliver the same body until it gives up, so the events are lost: each of these
answers 200 (stored) or 400 (refused, nothing stored), never 500.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from qbo_integration.webhooks.formats import MAX_EVENTS
from qbo_integration.webhooks.models import WebhookEvent
from qbo_integration.webhooks.signature import sign

URL = "/api/v1/integrations/quickbooks/webhooks"


def _ce(id_: str, realm: str, **over: object) -> dict:
    return {"specversion": "1.0", "id": id_, "type": "qbo.timeactivity.updated.v1", "time": "2026-12-01T10:00:00Z",
            "intuitentityid": "7", "intuitaccountid": realm, **over}


async def _post(client, settings, body: bytes):
    return await client.post(URL, content=body, headers={"content-type": "application/json",
                                                         "intuit-signature": sign(body, settings.webhook_verifier())})


async def _count(sessionmaker) -> int:
    async with sessionmaker() as s:
        return int((await s.execute(select(func.count()).select_from(WebhookEvent))).scalar_one())


async def test_a_delivery_of_the_most_events_the_format_allows_is_stored(client, settings, sessionmaker,
                                                                          connected_company):
    """8 parameters an event in one INSERT passed asyncpg's 32,767 at 4,096 events."""
    realm = connected_company.realm_id
    body = json.dumps([_ce(f"big-{n}", realm, intuitentityid=str(n)) for n in range(MAX_EVENTS)],
                      separators=(",", ":")).encode()
    assert len(body) <= settings.webhook_max_body_bytes
    resp = await _post(client, settings, body)
    assert resp.status_code == 200, resp.text[:500]
    assert resp.json() == {"received": MAX_EVENTS, "stored": MAX_EVENTS, "duplicates": 0, "unknownRealm": 0}
    assert await _count(sessionmaker) == MAX_EVENTS
    again = await _post(client, settings, body)
    assert again.json()["duplicates"] == MAX_EVENTS


@pytest.mark.parametrize("field", ["id", "intuitaccountid", "intuitentityid"])
async def test_a_lone_surrogate_in_a_cloudevent_is_refused_with_a_400(client, settings, sessionmaker,
                                                                       connected_company, field):
    event = _ce("sur-1", connected_company.realm_id)
    event[field] = "ab\ud800"
    body = json.dumps([event]).encode()  # ensure_ascii: the surrogate travels as the escape \ud800
    resp = await _post(client, settings, body)
    assert resp.status_code == 400, resp.text
    assert field in resp.json()["error"]["message"]
    assert await _count(sessionmaker) == 0


@pytest.mark.parametrize("field", ["id", "name", "operation", "lastUpdated"])
async def test_a_lone_surrogate_in_a_legacy_entity_is_refused_or_stored(client, settings, sessionmaker,
                                                                         connected_company, field):
    entity = {"name": "Customer", "id": "3", "operation": "Update", "lastUpdated": "2026-12-01T10:00:00Z"}
    entity[field] = "x\udfff"
    body = json.dumps({"eventNotifications": [{"realmId": connected_company.realm_id,
                                               "dataChangeEvent": {"entities": [entity]}}]}).encode()
    resp = await _post(client, settings, body)
    if field == "lastUpdated":  # only a timestamp: unreadable, so the event has none
        assert resp.status_code == 200, resp.text
        assert resp.json()["stored"] == 1
    else:
        assert resp.status_code == 400, resp.text
        assert field in resp.json()["error"]["message"]
        assert await _count(sessionmaker) == 0


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                   "0001-01-01T00:00:00Z", "2026-13-45T00:00:00Z", "2026-12-01T10:00:00"])
async def test_an_event_time_outside_what_can_be_stored_is_no_time(client, settings, sessionmaker,
                                                                    connected_company, stamp):
    resp = await _post(client, settings, json.dumps([_ce("t-1", connected_company.realm_id, time=stamp)]).encode())
    assert resp.status_code == 200, resp.text
    assert resp.json()["stored"] == 1
    async with sessionmaker() as s:
        [row] = (await s.execute(select(WebhookEvent))).scalars().all()
    assert row.occurred_at is None


async def test_a_webhook_body_is_refused_at_its_own_bound_before_it_is_buffered(client, settings, sessionmaker,
                                                                                 connected_company):
    """Every body up to MAX_REQUEST_BODY_BYTES (16 MiB) was read into memory before the webhook's 1 MB
    bound applied: a stream without Content-Length is now cut off at the webhook's bound."""
    chunk = b" " * 65536
    pulled = 0

    async def stream():
        nonlocal pulled
        for _ in range(128):  # 8 MiB, under the API-wide bound
            pulled += len(chunk)
            yield chunk

    resp = await client.post(URL, content=stream(), headers={"content-type": "application/json",
                                                             "intuit-signature": "whatever"})
    assert resp.status_code == 413, resp.text
    assert str(settings.webhook_max_body_bytes) in resp.json()["error"]["message"]
    assert pulled <= settings.webhook_max_body_bytes + len(chunk), pulled
    assert await _count(sessionmaker) == 0


async def test_unsigned_requests_never_use_up_the_verified_senders_rate(client, settings, sessionmaker,
                                                                         connected_company, monkeypatch):
    """The limit counted every request per peer address before the signature check: behind a proxy an
    attacker's unsigned requests used up Intuit's deliveries."""
    import uuid

    from qbo_integration.webhooks import endpoints

    window = 60.0 * (20_000_000 + uuid.uuid4().int % 1_000_000)  # a minute no other test has counted in
    monkeypatch.setattr(endpoints, "_clock", lambda: window)
    monkeypatch.setattr(settings, "webhook_rate_per_minute", 3)
    realm = connected_company.realm_id
    forged = [await client.post(URL, content=json.dumps([_ce(f"f{n}", realm)]).encode(),
                                headers={"content-type": "application/json", "intuit-signature": "Zm9yZ2Vk"})
              for n in range(10)]
    assert {r.status_code for r in forged} == {401}
    signed = [(await _post(client, settings, json.dumps([_ce(f"s{n}-{uuid.uuid4()}", realm)]).encode())).status_code
              for n in range(5)]
    assert signed == [200, 200, 200, 429, 429]
    assert await _count(sessionmaker) == 3
