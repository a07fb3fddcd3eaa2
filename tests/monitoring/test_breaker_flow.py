"""The whole story: sandbox faults open a company's breaker; the admin hears once, gets a CSV, health says failed;
QBO recovers; health drops the breaker from its reasons and a "resumed" email arrives. Real SMTP, real S3-compatible server, real worker."""

from __future__ import annotations

import contextlib
import csv
import io
import time
import uuid

import aioboto3
import pytest
from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker
from moto.server import ThreadedMotoServer
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import select

from qbo_integration.connections.service import integration_id
from qbo_integration.health.service import LIVE_SYNC_OFF
from qbo_integration.monitoring.models import AuditLogEntry
from qbo_integration.qbo import QboApi
from qbo_integration.qbo.errors import QboError
from qbo_integration.services import qbo_config
from qbo_integration.sync.models import TimecardSyncRecord
from qbo_integration.worker import registry
from qbo_integration.worker.queue import QUEUE_NAME, JobQueue
from tests.monitoring.helpers import seed_timecards
from tests.monitoring.smtp import SmtpServer, free_port
from tests.qbo.helpers import age_breaker

P = "/api/v1/integrations/quickbooks"


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def s3_url(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


async def run_worker(ctx: dict, redis_url: str) -> None:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    worker = Worker(functions=registry.FUNCTIONS, redis_pool=pool, queue_name=QUEUE_NAME, burst=True, poll_delay=0,
                    handle_signals=False, ctx=dict(ctx), max_jobs=4)
    try:
        await worker.main()
    finally:
        # A loaded machine can time out closing Redis sockets (1 s); that is not what this test checks.
        with contextlib.suppress(RedisTimeoutError, TimeoutError):
            await worker.close()
        with contextlib.suppress(RedisTimeoutError, TimeoutError):
            await pool.aclose()


@pytest.mark.timeout(1200)  # several servers and a real worker; slow on a loaded machine
async def test_breaker_open_alert_csv_health_then_resume(
    client, auth_headers, sessionmaker, redis, settings, connected_company, sandbox, services, smtp, s3_url,
):
    cfg = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_starttls": False,
                                      "s3_bucket": f"flow-{uuid.uuid4().hex[:8]}", "s3_endpoint_url": s3_url})
    company_id, realm = connected_company.company_id, connected_company.realm_id
    seeded = await seed_timecards(sessionmaker, company_id, 4)
    async with sessionmaker() as s:  # the first one is already in QBO: it must not be in the CSV
        s.add(TimecardSyncRecord(id=uuid.uuid4(), company_id=company_id, timecard_id=seeded.timecard_ids[0],
                                 state="synced", operation="none", qbo_id="900"))
        await s.commit()
    unsynced = {str(i) for i in seeded.timecard_ids[1:]}

    from qbo_integration.monitoring.qbo_observer import MonitoringObserver

    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    queue = JobQueue(pool)
    observer = MonitoringObserver(sessionmaker, cfg, queue, integration_id=integration_id)
    api = QboApi(qbo_config(cfg), redis, services.token_store, observer=observer, sleep=no_sleep)
    observer.qbo = api
    ctx = {"settings": cfg, "sessionmaker": sessionmaker, "queue": queue}
    try:
        r = await sandbox.put(f"/_sandbox/realms/{realm}/faults", json={"error503Rate": 1.0})
        assert r.status_code == 200, r.text
        qbo = api.company(company_id, realm)
        for _ in range(7):  # 5 failures open it; the next calls are refused without reaching QBO
            with pytest.raises(QboError):
                await qbo.company_info()
        state = await api.breaker_state(company_id)
        assert state.state == "open" and state.reopens_at is not None

        await run_worker(ctx, settings.redis_url)

        # 1. one alert email
        subjects = smtp.inbox.subjects()
        assert subjects[0] == "QuickBooks sync paused (circuit breaker open)"
        assert subjects.count("QuickBooks sync paused (circuit breaker open)") == 1
        # 2. a CSV in storage with exactly the unsynced timecards, and the email with its link
        session = aioboto3.Session()
        async with session.client("s3", endpoint_url=s3_url, region_name="us-east-1") as s3:
            listed = await s3.list_objects_v2(Bucket=cfg.s3_bucket, Prefix=f"exports/{company_id}/")
            (obj,) = listed["Contents"]
            body = await (await s3.get_object(Bucket=cfg.s3_bucket, Key=obj["Key"]))["Body"].read()
        rows = list(csv.DictReader(io.StringIO(body.decode().lstrip("\ufeff"))))
        assert {row["CrewFlow Timecard ID"] for row in rows} == unsynced and len(rows) == 3
        assert subjects[1] == "QuickBooks fallback CSV ready (3 timecards)"
        assert "X-Amz-Signature" in smtp.inbox.messages[1].get_payload(decode=True).decode()
        # 3. health failed, with the reopen time
        h = (await client.get(f"{P}/health", headers=auth_headers, params={"companyId": str(company_id)})).json()
        assert h["status"] == "failed" and h["breaker"]["state"] == "open"
        assert h["breaker"]["reopensAt"] == state.reopens_at.isoformat().replace("+00:00", "Z")
        assert any("circuit breaker" in reason for reason in h["reasons"])

        # QBO recovers; after the open period the trial call succeeds and the breaker closes
        assert (await sandbox.delete(f"/_sandbox/realms/{realm}/faults")).status_code in (200, 204)
        await age_breaker(redis, str(company_id), 31 * 60)  # the open period passes on Redis's clock
        info = await qbo.company_info()
        assert info.CompanyName
        assert (await api.breaker_state(company_id)).state == "closed"
        await run_worker(ctx, settings.redis_url)
        h = (await client.get(f"{P}/health", headers=auth_headers, params={"companyId": str(company_id)})).json()
        # the breaker closed: nothing is wrong but the fixture's live sync, which is off
        assert h["status"] == "degraded" and h["reasons"] == [LIVE_SYNC_OFF], h["reasons"]
        assert smtp.inbox.subjects()[2:] == ["QuickBooks sync resumed"]
        assert "QuickBooks is answering again" in smtp.inbox.messages[2].get_payload(decode=True).decode()

        async with sessionmaker() as s:
            actions = [a for (a,) in (await s.execute(
                select(AuditLogEntry.action).where(AuditLogEntry.company_id == company_id)
                .order_by(AuditLogEntry.created_at))).all()]
        assert actions == ["breaker_open", "export_csv", "breaker_closed"]
    finally:
        await api.aclose()
        await pool.aclose()


async def test_breaker_reset_route(client, auth_headers, make_token, redis, connected_company, company):
    await redis.hset(f"qbo:breaker:{company.id}", mapping={"state": "open", "failures": 5, "opened_at": time.time()})
    worker = {"Authorization": f"Bearer {make_token(company.id, role='supervisor')}"}
    r = await client.post(f"{P}/breaker/reset", headers=worker, json={"companyId": str(company.id)})
    assert r.status_code == 403
    assert (await redis.hget(f"qbo:breaker:{company.id}", "state")) == b"open"
    for bad in ({"companyId": "nope"}, {}, {"companyId": str(company.id), "extra": 1}, {"companyId": 5}):
        r = await client.post(f"{P}/breaker/reset", headers=auth_headers, json=bad)
        assert r.status_code == 422, (bad, r.text)
    r = await client.post(f"{P}/breaker/reset", headers=auth_headers, json={"companyId": str(company.id)})
    assert r.status_code == 200, r.text
    assert r.json()["breaker"] == {"state": "closed", "failures": 0, "previousState": "open"}
    h = (await client.get(f"{P}/health", headers=auth_headers, params={"companyId": str(company.id)})).json()
    assert h["breaker"]["state"] == "closed"
    r = await client.get(f"{P}/audit-log", headers=auth_headers,
                         params={"companyId": str(company.id), "action": "breaker_reset"})
    assert r.json()["pagination"]["total"] == 1 and r.json()["logs"][0]["actor"] == "user-1"


async def test_open_and_close_in_the_same_second_both_queue_a_delivery(sessionmaker, settings, connected_company):
    """The 'resumed' email was lost when the breaker closed within the second it opened: both transitions
    used the job id deliver-alerts:{second}, so arq dropped the second delivery job as a duplicate."""
    from qbo_integration.monitoring.models import AlertOutbox
    from qbo_integration.monitoring.qbo_observer import MonitoringObserver

    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    try:
        observer = MonitoringObserver(sessionmaker, settings, JobQueue(pool), integration_id=integration_id)
        company = str(connected_company.company_id)
        before = [j.function for j in await pool.queued_jobs(queue_name=QUEUE_NAME)].count("deliver_alerts")
        await observer.on_breaker_change(company, "closed", "open")
        await observer.on_breaker_change(company, "open", "closed")
        queued = [j.function for j in await pool.queued_jobs(queue_name=QUEUE_NAME)]
    finally:
        await pool.aclose()
    assert queued.count("deliver_alerts") - before == 2
    async with sessionmaker() as s:
        kinds = sorted((await s.execute(select(AlertOutbox.kind).where(
            AlertOutbox.company_id == connected_company.company_id))).scalars())
    assert kinds == ["breaker_closed", "breaker_open"]


async def test_a_throttled_moment_opens_no_breaker_sends_no_email_writes_no_csv(
    redis, settings, sessionmaker, connected_company, sandbox, services,
):
    """8 concurrent sends meet a 429 storm: before, 5 of them opened the breaker for 30 minutes, which
    queued the alert email and the fallback CSV. A 429 is pacing: nothing of that may happen."""
    import asyncio

    from qbo_integration.monitoring.models import AlertOutbox
    from qbo_integration.monitoring.qbo_observer import MonitoringObserver

    company_id, realm = connected_company.company_id, connected_company.realm_id
    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    observer = MonitoringObserver(sessionmaker, settings, JobQueue(pool), integration_id=integration_id)
    api = QboApi(qbo_config(settings), redis, services.token_store, observer=observer)
    observer.qbo = api
    ta = {"NameOf": "Employee", "EmployeeRef": {"value": "1"}, "CustomerRef": {"value": "1"},
          "ItemRef": {"value": "1"}, "TxnDate": "2026-11-02", "Hours": 8, "Minutes": 0}
    try:
        r = await sandbox.put(f"/_sandbox/realms/{realm}/faults", json={"throttleStormSeconds": 60})
        assert r.status_code == 200, r.text
        qbo = api.company(company_id, realm)
        results = await asyncio.gather(*(qbo.create_time_activity(ta, request_id=f"throttled-{i}") for i in range(8)),
                                       return_exceptions=True)
        assert all(isinstance(x, QboError) for x in results), results
        assert (await api.breaker_state(company_id)).state == "closed"
        queued = [j.function for j in await pool.queued_jobs(queue_name=QUEUE_NAME)]
        assert "export_unsynced" not in queued and "deliver_alerts" not in queued
        async with sessionmaker() as s:
            alerts = (await s.execute(select(AlertOutbox.kind).where(AlertOutbox.company_id == company_id))).all()
            audit = (await s.execute(select(AuditLogEntry.action).where(AuditLogEntry.company_id == company_id))).all()
        assert alerts == [] and audit == []
        assert {x.code for x in results} == {"paused"}  # type: ignore[union-attr]  # the outbox waits
    finally:
        await api.aclose()
        await pool.aclose()
