"""Webhook intake that cannot be overrun: a company's backlog is worked off to the end by jobs that queue
themselves again, oldest first, without holding back another company's events; a cron queues jobs for
events nobody is working on; events of a realm the company is no longer connected to are dropped."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from qbo_integration.connections.crypto import TokenCipher, aad_for
from qbo_integration.connections.models import Integration
from qbo_integration.core_platform.models import Company
from qbo_integration.monitoring.models import AuditLogEntry
from qbo_integration.reconciliation.models import DriftFinding
from qbo_integration.webhooks import reactions, service, tasks
from qbo_integration.webhooks.models import WebhookEvent
from qbo_integration.webhooks.signature import sign
from qbo_integration.worker.queue import QUEUE_NAME
from tests.conftest import connect_realm
from tests.sync.worker_harness import running_worker
from tests.webhooks.test_drift import _findings, _synced_timecard
from tests.webhooks.test_sandbox_delivery import URL, _wait_for

BATCH = 5


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(service, "CLAIM_BATCH", BATCH)


async def _deliver(client, settings, realm: str, entity_ids: list[str], tag: str) -> None:
    now = datetime.now(UTC).isoformat()  # not late: no gap reconciliation is queued
    body = json.dumps([{"specversion": "1.0", "id": f"{tag}-{n}", "type": "qbo.timeactivity.updated.v1",
                        "time": now, "intuitentityid": e, "intuitaccountid": realm}
                       for n, e in enumerate(entity_ids)]).encode()
    resp = await client.post(URL, content=body, headers={"content-type": "application/json",
                                                         "intuit-signature": sign(body, settings.webhook_verifier())})
    assert resp.status_code == 200 and resp.json()["stored"] == len(entity_ids), resp.text


async def _events(sessionmaker, company_id) -> list[WebhookEvent]:
    async with sessionmaker() as s:
        return list((await s.execute(select(WebhookEvent).where(WebhookEvent.company_id == company_id))).scalars())


async def _another_company(sessionmaker, settings, sandbox):
    async with sessionmaker() as s:
        other = Company(id=uuid.uuid4(), name="Other Builders", timezone="America/Denver")
        s.add(other)
        await s.commit()
    created = (await sandbox.post("/_sandbox/realms", json={"sample": True})).json()
    return await connect_realm(other, sessionmaker, settings, sandbox, created)


@pytest.mark.usefixtures("small_batches")
async def test_a_backlog_drains_to_the_end_without_holding_back_another_company(
        client, settings, sessionmaker, services, redis_url, redis, connected_company, sandbox):
    """One job took the 500 oldest events and never came back: the rest waited for the next delivery."""
    a, b = connected_company, await _another_company(sessionmaker, settings, sandbox)
    backlog = [str(900000 + n) for n in range(7 * BATCH + 2)]
    for part in range(3):  # a burst of deliveries queues one job for A, not one each
        await _deliver(client, settings, a.realm_id, backlog[part::3], f"a{part}")
    await _deliver(client, settings, b.realm_id, ["900999"], "b")
    ctx = {"sessionmaker": sessionmaker, "services": services}
    async with running_worker(redis_url, ctx, listen=False, functions=tasks.FUNCTIONS, max_jobs=1):
        async def drained():
            events = await _events(sessionmaker, a.company_id) + await _events(sessionmaker, b.company_id)
            return all(e.status == "done" for e in events)

        assert await _wait_for(drained, timeout=120), [(e.status, e.attempts) for e in await _events(sessionmaker, a.company_id)]
    a_events = sorted(await _events(sessionmaker, a.company_id), key=lambda e: e.processed_at)
    [b_event] = await _events(sessionmaker, b.company_id)
    before_b = sum(1 for e in a_events if e.processed_at < b_event.processed_at)
    assert before_b <= BATCH, f"{before_b} of company A's events went before company B's one"
    assert all(e.attempts == 1 for e in a_events)


async def test_a_job_that_finds_another_at_work_leaves_it_the_events(sessionmaker, services, redis, queue,
                                                                     connected_company, client, settings):
    cid = connected_company.company_id
    await _deliver(client, settings, connected_company.realm_id, ["1", "2"], "turn")
    assert await service.take_turn(redis, cid, "someone-else")
    busy = await reactions.process(sessionmaker, services.qbo, queue, redis, cid)
    assert busy == {"events": 0, "busy": True}
    assert {e.status for e in await _events(sessionmaker, cid)} == {"pending"}
    await service.end_turn(redis, cid, "someone-else")
    done = await reactions.process(sessionmaker, services.qbo, queue, redis, cid)
    assert done["events"] == 2 and done["more"] is False


async def test_the_cron_queues_a_job_for_every_company_whose_events_wait(
        client, settings, sessionmaker, redis, queue, connected_company, sandbox):
    a, b = connected_company, await _another_company(sessionmaker, settings, sandbox)
    await _deliver(client, settings, b.realm_id, ["7"], "older")
    await _deliver(client, settings, a.realm_id, ["8"], "newer")
    await redis.delete(QUEUE_NAME)  # the queue lost the jobs (a Redis restart)
    queued = await tasks.queue_waiting_webhook_events({"sessionmaker": sessionmaker, "queue": queue})
    assert queued == 2
    jobs = [j.decode() for j in await redis.zrange(QUEUE_NAME, 0, -1)]  # queued within one ms: order by id
    assert sorted(j.split(":")[1] for j in jobs) == sorted([str(b.company_id), str(a.company_id)])
    async with sessionmaker() as s:
        assert await service.companies_waiting(s) == [b.company_id, a.company_id]  # the longest-waiting first


async def test_events_of_the_realm_connected_before_are_dropped_not_applied(ctx, live, sessionmaker, sandbox, api,
                                                                           client, settings, queue):
    """Issue 28: events stored for realm A were processed against realm B once the admin connected B (a
    TimeActivity id of A looked up in B: a false 'deleted' finding, or B's unrelated record)."""
    cc, core = live
    _, qbo_id = await _synced_timecard(ctx, sessionmaker, core)
    await _deliver(client, settings, cc.realm_id, [qbo_id], "old-realm")
    b = await _another_company(sessionmaker, settings, sandbox)  # the admin connects realm B instead of A
    cipher = TokenCipher(settings.token_encryption_keys.get_secret_value())
    async with sessionmaker() as s:
        row = await s.get(Integration, b.integration_id)
        tokens = [cipher.encrypt(cipher.decrypt(enc, aad_for(b.integration_id)), aad_for(cc.integration_id))
                  for enc in (row.access_token_enc, row.refresh_token_enc)]
        await s.delete(row)
        await s.flush()
        await s.execute(update(Integration).where(Integration.id == cc.integration_id)
                        .values(realm_id=b.realm_id, access_token_enc=tokens[0], refresh_token_enc=tokens[1]))
        await s.commit()
    before = len((await sandbox.get(f"/_sandbox/realms/{b.realm_id}/log")).json())
    out = await reactions.process(sessionmaker, api, queue, ctx["redis"], cc.company_id)
    assert out.get("dropped") == 1, out
    assert await _findings(sessionmaker, cc.company_id) == []
    [event] = await _events(sessionmaker, cc.company_id)
    assert event.status == "done" and event.error.startswith("dropped")
    assert len((await sandbox.get(f"/_sandbox/realms/{b.realm_id}/log")).json()) == before  # nothing read in B
    async with sessionmaker() as s:
        [audit] = (await s.execute(select(AuditLogEntry).where(AuditLogEntry.action == reactions.DROPPED))).scalars()
        assert (await s.execute(select(DriftFinding))).first() is None
    assert audit.response_payload["realmId"] == cc.realm_id and audit.response_payload["events"] == 1


async def _claimed_by(sessionmaker, redis, client, settings, company, job: str) -> list[WebhookEvent]:
    """Two events delivered, claimed by `job`, which holds the company's turn."""
    await _deliver(client, settings, company.realm_id, ["1", "2"], job)
    async with sessionmaker() as s:
        claimed = await service.claim(s, company.company_id)
        await s.commit()
    assert await service.take_turn(redis, company.company_id, job)
    return claimed


async def test_the_events_of_a_job_that_died_are_taken_again_about_a_minute_later(
        sessionmaker, redis, connected_company, client, settings):
    """A worker killed mid-job leaves its events `processing` and its turn taken: both lapse one lease
    later (they used to wait ten minutes, and a bookkeeper's edit with them)."""
    cid = connected_company.company_id
    claimed = await _claimed_by(sessionmaker, redis, client, settings, connected_company, "killed-job")
    taken_at = claimed[0].claimed_at
    async with sessionmaker() as s:
        assert not await service.waiting(s, cid, now=taken_at + service.LEASE / 2)
        assert await service.waiting(s, cid, now=taken_at + service.LEASE + service.LEASE_RENEW)
    assert 0 < await redis.ttl(f"qbo:webhooks:turn:{cid}") <= service.LEASE.total_seconds()


async def test_a_live_job_keeps_its_turn_and_its_events(sessionmaker, redis, connected_company, client, settings):
    from datetime import timedelta

    from qbo_integration.webhooks.lease import Turn

    cid = connected_company.company_id
    claimed = await _claimed_by(sessionmaker, redis, client, settings, connected_company, "alive-job")
    later = claimed[0].claimed_at + timedelta(minutes=5)
    turn = Turn(sessionmaker, redis, cid, "alive-job", clock=lambda: later)
    turn.claimed = [e.id for e in claimed]
    await redis.expire(f"qbo:webhooks:turn:{cid}", 5)
    await turn.renew()
    assert {e.claimed_at for e in await _events(sessionmaker, cid)} == {later}
    assert await redis.ttl(f"qbo:webhooks:turn:{cid}") > 5
    async with sessionmaker() as s:
        assert not await service.waiting(s, cid, now=later + service.LEASE / 2)
    # A job whose turn lapsed and was taken by another renews nothing of the other's.
    await redis.set(f"qbo:webhooks:turn:{cid}", "next-job", ex=5)
    turn.clock = lambda: later + timedelta(minutes=5)
    await turn.renew()
    assert await redis.ttl(f"qbo:webhooks:turn:{cid}") <= 5
    assert {e.claimed_at for e in await _events(sessionmaker, cid)} == {later}
