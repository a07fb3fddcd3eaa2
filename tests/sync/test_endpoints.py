"""Sync routes: Sync Now, status, dead letters, settings — and every bad input they refuse."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from qbo_integration.core_platform.models import Company
from qbo_integration.sync import intake, tasks
from qbo_integration.sync.models import SyncJob, TimecardSyncRecord
from qbo_integration.worker.queue import QUEUE_NAME
from tests.support import sync as h

P = "/api/v1/integrations/quickbooks"


async def _jobs(sessionmaker) -> int:
    async with sessionmaker() as s:
        return (await s.execute(select(func.count()).select_from(SyncJob))).scalar_one()


async def test_sync_now_queues_a_job_and_status_reports_it(client, auth_headers, live, sessionmaker, ctx,
                                                           arq_redis, clock):
    cc, core = live
    tid = await h.add_timecard(sessionmaker, core)  # approved; no event ever came
    r = await client.post(f"{P}/sync-now", json={"companyId": str(core.company_id)}, headers=auth_headers)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["message"] == "Sync job queued"
    job_id = body["jobId"]
    assert await arq_redis.zcard(QUEUE_NAME) >= 1
    s = (await client.get(f"{P}/sync-status/{job_id}", headers=auth_headers)).json()
    assert (s["status"], s["progress"]) == ("pending", 0)
    clock.now = datetime.now(UTC)  # the request queued the row at wall-clock time; the job's clock must reach it
    await tasks.sync_company(ctx, str(core.company_id), job_id)
    s = (await client.get(f"{P}/sync-status/{job_id}", headers=auth_headers)).json()
    assert (s["status"], s["progress"], s["results"]["synced"], s["results"]["failed"]) == ("completed", 100, 1, 0)
    assert s["qboCalls"] == 1 and s["batches"] == 0 and s["retries"] == 0
    assert (await h.row(sessionmaker, tid)).state == "synced"


async def test_sync_now_with_timecard_ids_requeues_failed_ones(client, auth_headers, live, sessionmaker, ctx):
    cc, core = live
    tid = await h.add_timecard(sessionmaker, core)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    async with sessionmaker() as s:
        await s.execute(update(TimecardSyncRecord).values(state="dead", attempts=6, last_error="HTTP 500"))
        await s.commit()
    r = await client.post(f"{P}/sync-now", json={"companyId": str(core.company_id), "timecardIds": [str(tid)]},
                          headers=auth_headers)
    assert r.status_code == 202
    row = await h.row(sessionmaker, tid)
    assert (row.state, row.attempts) == ("pending", 0)


async def test_sync_now_refuses_bad_input_and_changes_nothing(client, auth_headers, live, sessionmaker, make_token):
    cc, core = live
    cid = str(core.company_id)
    async with sessionmaker() as s:
        other = Company(id=uuid.uuid4(), name="Other", timezone="UTC")
        s.add(other)
        await s.commit()
    other_core = await h.seed_core(sessionmaker, other.id)
    foreign = await h.add_timecard(sessionmaker, other_core)
    cases = [
        ({}, 422, "companyId"),
        ({"companyId": "nope"}, 422, "companyId"),
        ({"companyId": cid, "timecardIds": ["x"]}, 422, "timecardIds"),
        ({"companyId": cid, "timecardIds": "abc"}, 422, "timecardIds"),
        ({"companyId": cid, "extra": 1}, 422, "extra"),
        ({"companyId": cid, "timecardIds": [str(uuid.uuid4())]}, 404, "not found"),
        ({"companyId": cid, "timecardIds": [str(foreign)]}, 404, "not found"),  # like an unknown id
        ({"companyId": str(other.id)}, 403, "another company"),
    ]
    for body, status, words in cases:
        r = await client.post(f"{P}/sync-now", json=body, headers=auth_headers)
        assert r.status_code == status, (body, r.text)
        assert words.lower() in r.json()["error"]["message"].lower(), (body, r.text)
    r = await client.post(f"{P}/sync-now", json={"companyId": cid},
                          headers={"Authorization": f"Bearer {make_token(core.company_id, role='supervisor')}"})
    assert r.status_code == 403 and "admin" in r.json()["error"]["message"]
    assert (await client.post(f"{P}/sync-now", json={"companyId": cid})).status_code == 401
    await h.enable_live_sync(sessionmaker, core.company_id, enabled=False)
    r = await client.post(f"{P}/sync-now", json={"companyId": cid}, headers=auth_headers)
    assert r.status_code == 409 and "live sync is not enabled" in r.json()["error"]["message"].lower()
    assert await _jobs(sessionmaker) == 0


async def test_sync_status_of_unknown_or_foreign_jobs(client, auth_headers, live, sessionmaker):
    cc, core = live
    assert (await client.get(f"{P}/sync-status/{uuid.uuid4()}", headers=auth_headers)).status_code == 404
    assert (await client.get(f"{P}/sync-status/not-a-uuid", headers=auth_headers)).status_code == 404
    async with sessionmaker() as s:
        other = Company(id=uuid.uuid4(), name="Other", timezone="UTC")
        s.add(other)
        await s.flush()
        job = SyncJob(id=uuid.uuid4(), integration_id=cc.integration_id, company_id=other.id, status="pending")
        s.add(job)
        await s.commit()
    r = await client.get(f"{P}/sync-status/{job.id}", headers=auth_headers)
    unknown = await client.get(f"{P}/sync-status/{uuid.uuid4()}", headers=auth_headers)
    assert r.status_code == 404  # another company's job answers exactly like an unknown one
    assert r.json()["error"]["message"] == unknown.json()["error"]["message"]


async def test_dead_letters_list_and_requeue(client, auth_headers, live, sessionmaker, ctx, make_token):
    cc, core = live
    tid = await h.add_timecard(sessionmaker, core)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    async with sessionmaker() as s:
        await s.execute(update(TimecardSyncRecord).values(state="dead", attempts=6, last_error="HTTP 503 Service",
                                                          last_error_code="503"))
        await s.commit()
    cid = str(core.company_id)
    r = await client.get(f"{P}/dead-letters", params={"companyId": cid}, headers=auth_headers)
    assert r.status_code == 200
    [item] = r.json()["items"]
    assert (item["timecardId"], item["attempts"], item["error"]) == (str(tid), 6, "HTTP 503 Service")
    assert (await client.get(f"{P}/dead-letters", params={"companyId": "x"}, headers=auth_headers)).status_code == 422
    supervisor = {"Authorization": f"Bearer {make_token(core.company_id, role='supervisor')}"}
    r = await client.post(f"{P}/dead-letters/requeue", json={"companyId": cid}, headers=supervisor)
    assert r.status_code == 403 and (await h.row(sessionmaker, tid)).state == "dead"
    r = await client.post(f"{P}/dead-letters/requeue", json={"companyId": cid, "timecardIds": [str(tid)]},
                          headers=auth_headers)
    assert r.status_code == 200 and r.json() == {"requeued": 1}
    assert (await h.row(sessionmaker, tid)).state == "pending"


async def test_sync_settings(client, auth_headers, live, sessionmaker, make_token):
    cc, core = live
    cid = str(core.company_id)
    r = await client.put(f"{P}/sync-settings", json={"companyId": cid, "syncStartDate": "2026-03-01"},
                         headers=auth_headers)
    assert r.status_code == 200 and r.json() == {"companyId": cid, "syncStartDate": "2026-03-01"}
    for body in ({"companyId": cid, "syncStartDate": "03/01/2026"}, {"companyId": cid},
                 {"companyId": cid, "syncStartDate": "2026-02-30"}):
        r = await client.put(f"{P}/sync-settings", json=body, headers=auth_headers)
        assert r.status_code == 422, body
    supervisor = {"Authorization": f"Bearer {make_token(core.company_id, role='supervisor')}"}
    r = await client.put(f"{P}/sync-settings", json={"companyId": cid, "syncStartDate": None}, headers=supervisor)
    assert r.status_code == 403
    r = await client.put(f"{P}/sync-settings", json={"companyId": cid, "syncStartDate": None}, headers=auth_headers)
    assert r.json()["syncStartDate"] is None
