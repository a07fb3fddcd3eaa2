"""Health: the PRD's shape, the status rules, timezone-aware "today", bounded counts, the route."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from qbo_integration.connections.models import Integration
from qbo_integration.health import service as health
from qbo_integration.qbo.breaker import BreakerState
from qbo_integration.sync.models import SyncJob, TimecardSyncRecord
from tests.monitoring.helpers import add_audit

P = "/api/v1/integrations/quickbooks"
NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # 11:00 in Denver


class FakeQbo:
    def __init__(self, state: str = "closed", failures: int = 0, usage: float = 12.0) -> None:
        opened = NOW - timedelta(minutes=5) if state != "closed" else None
        self.state = BreakerState(state, failures, opened, opened + timedelta(minutes=30) if opened else None)
        self.usage = usage

    async def breaker_state(self, company_id):
        return self.state

    async def rate_usage(self, realm_id):
        return self.usage


async def make_integration(sessionmaker, company_id, *, connection_status="connected", enabled=True) -> uuid.UUID:
    iid = uuid.uuid4()
    async with sessionmaker() as s:
        s.add(Integration(id=iid, company_id=company_id, realm_id="9130357766900001", connection_status=connection_status,
                          connection_changed_at=NOW - timedelta(days=1), qbo_company_name="Sandbox Co",
                          enabled=enabled))
        await s.commit()
    return iid


async def add_records(sessionmaker, company_id, states: dict[str, int], *, synced_at=None, due=None):
    async with sessionmaker() as s:
        for state, n in states.items():
            for _ in range(n):
                s.add(TimecardSyncRecord(id=uuid.uuid4(), company_id=company_id, timecard_id=uuid.uuid4(), state=state,
                                         synced_at=synced_at if state == "synced" else None,
                                         next_attempt_at=due or NOW))
        await s.commit()


async def check(sessionmaker, company_id, qbo=None):
    async with sessionmaker() as s:
        return await health.company_health(s, qbo or FakeQbo(), company_id, now=NOW)


async def test_not_connected_is_failed(sessionmaker, company):
    h = await check(sessionmaker, company.id)
    assert h["status"] == "failed" and h["reasons"] == ["QuickBooks is not connected"]
    assert h["connection"]["status"] == "never_connected" and h["recentRuns"] == []


async def test_healthy_shape_and_counts(sessionmaker, company):
    iid = await make_integration(sessionmaker, company.id)
    # Denver's today began 07:00 UTC: one synced before that (yesterday there), two after
    await add_records(sessionmaker, company.id, {"synced": 1}, synced_at=NOW.replace(hour=6, minute=59))
    await add_records(sessionmaker, company.id, {"synced": 2}, synced_at=NOW.replace(hour=7, minute=1))
    await add_records(sessionmaker, company.id, {"pending": 2, "in_flight": 1})
    await add_audit(sessionmaker, iid, company.id, created_at=NOW - timedelta(hours=2), status="failure")
    await add_audit(sessionmaker, iid, company.id, created_at=NOW - timedelta(hours=25), status="failure")
    await add_audit(sessionmaker, iid, company.id, created_at=NOW - timedelta(hours=1))
    async with sessionmaker() as s:
        for i in range(12):
            s.add(SyncJob(id=uuid.uuid4(), integration_id=iid, company_id=company.id, status="completed",
                          created_at=NOW - timedelta(minutes=15 * (12 - i)),
                          completed_at=NOW - timedelta(minutes=15 * (12 - i) - 1), timecards_synced=i))
        await s.commit()
    h = await check(sessionmaker, company.id)
    assert h["status"] == "healthy", h["reasons"]
    assert (h["syncedToday"], h["errorsLast24h"], h["pendingTimecards"], h["deadLettered"]) == (2, 1, 3, 0)
    assert h["rateLimitUsage"] == 12.0
    assert len(h["recentRuns"]) == 10 and h["recentRuns"][0]["synced"] == 11
    assert h["lastSync"] == (NOW - timedelta(minutes=14)).isoformat().replace("+00:00", "Z")
    assert h["breaker"] == {"state": "closed", "failures": 0, "openedAt": None, "reopensAt": None}
    assert h["connection"]["status"] == "connected" and h["setup"]["stepsTotal"] == 6


@pytest.mark.parametrize(("records", "qbo", "last_run", "expect", "reason"), [
    ({"dead": 2}, FakeQbo(), "completed", "degraded", "2 timecard(s) dead-lettered"),
    ({"failed": 1}, FakeQbo(), "completed", "degraded", "need a mapping or data fix"),
    ({}, FakeQbo(failures=2), "completed", "degraded", "2 consecutive failed"),
    ({}, FakeQbo(usage=95), "completed", "degraded", "Rate limit usage at 95%"),
    ({}, FakeQbo(), "failed", "degraded", "The last sync run failed"),
    ({}, FakeQbo("open", 5), "completed", "failed", "circuit breaker open"),
    ({}, FakeQbo("half_open", 5), "completed", "failed", "circuit breaker open"),
])
async def test_status_rules(sessionmaker, company, records, qbo, last_run, expect, reason):
    iid = await make_integration(sessionmaker, company.id)
    await add_records(sessionmaker, company.id, records)
    async with sessionmaker() as s:
        s.add(SyncJob(id=uuid.uuid4(), integration_id=iid, company_id=company.id, status=last_run,
                      created_at=NOW - timedelta(minutes=3), completed_at=NOW - timedelta(minutes=2)))
        await s.commit()
    h = await check(sessionmaker, company.id, qbo)
    assert h["status"] == expect and any(reason in r for r in h["reasons"]), h["reasons"]


async def test_live_sync_off_is_degraded_and_says_so(sessionmaker, company):
    """Issue 29: after a disconnect and reconnect live sync is off, and the dashboard said "Healthy"."""
    await make_integration(sessionmaker, company.id, enabled=False)
    h = await check(sessionmaker, company.id)
    assert h["status"] == "degraded" and h["connection"]["liveSyncEnabled"] is False
    assert h["reasons"] == [health.LIVE_SYNC_OFF] and h["reasons"][0].startswith("Live sync is off")


async def test_old_backlog_is_degraded_and_lost_connection_failed(sessionmaker, company):
    await make_integration(sessionmaker, company.id, connection_status="lost")
    await add_records(sessionmaker, company.id, {"pending": 1}, due=NOW - timedelta(hours=1))
    h = await check(sessionmaker, company.id)
    assert h["status"] == "failed"
    assert h["reasons"][0].startswith("The QuickBooks connection was lost")
    assert any("waiting more than 30 minutes" in r for r in h["reasons"])


async def test_error_count_is_bounded(sessionmaker, company, monkeypatch):
    iid = await make_integration(sessionmaker, company.id)
    monkeypatch.setattr(health, "ERROR_COUNT_CAP", 3)
    for i in range(5):
        await add_audit(sessionmaker, iid, company.id, created_at=NOW - timedelta(minutes=i + 1), status="failure")
    h = await check(sessionmaker, company.id)
    assert h["errorsLast24h"] == 3 and h["errorsLast24hCapped"] is True


async def test_health_route(client, company, auth_headers, make_token):
    r = await client.get(f"{P}/health", headers=auth_headers, params={"companyId": str(company.id)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"status", "lastSync", "syncedToday", "errorsLast24h", "pendingTimecards", "rateLimitUsage", "connection",
            "breaker", "recentRuns", "deadLettered", "setup"} <= set(body)
    assert body["status"] == "failed"
    # bad input: malformed id, missing id, other company, unknown company, no token
    r = await client.get(f"{P}/health", headers=auth_headers, params={"companyId": "123"})
    assert r.status_code == 422 and "companyId" in r.json()["error"]["message"]
    assert (await client.get(f"{P}/health", headers=auth_headers)).status_code == 422
    r = await client.get(f"{P}/health", headers=auth_headers, params={"companyId": str(uuid.uuid4())})
    assert r.status_code == 403
    ghost = uuid.uuid4()
    r = await client.get(f"{P}/health", headers={"Authorization": f"Bearer {make_token(ghost, role='supervisor')}"},
                         params={"companyId": str(ghost)})
    assert r.status_code == 404
    assert (await client.get(f"{P}/health", params={"companyId": str(company.id)})).status_code == 401


async def test_error_count_uses_the_failures_index_even_with_a_generic_plan(engine, company):
    """asyncpg prepares statements; after five runs PostgreSQL may switch to a generic plan. With the
    status as a bound parameter that plan could not use the partial failures index, and with a million
    audit rows each health call spent 130 ms counting. The status is a literal now."""
    from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

    compiled = health.bounded_errors_query(company.id, datetime.now(UTC)).compile(dialect=asyncpg_dialect())
    values = [compiled.params[name] for name in compiled.positiontup or []]
    async with engine.connect() as conn:
        await conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        await conn.exec_driver_sql("SET enable_seqscan = off")
        await conn.exec_driver_sql(f"PREPARE health_errors AS {compiled}")
        args = ", ".join(f"'{v}'" for v in values)
        plan = "\n".join(r[0] for r in (await conn.exec_driver_sql(f"EXPLAIN EXECUTE health_errors({args})")).all())
        await conn.rollback()
    assert "ix_audit_log_company_failures" in plan, plan


async def test_transient_failures_waiting_for_a_retry_are_not_called_a_mapping_fix(sessionmaker, company):
    iid = await make_integration(sessionmaker, company.id)
    async with sessionmaker() as s:
        for kind in ("transient", "transient", "validation"):
            s.add(TimecardSyncRecord(id=uuid.uuid4(), company_id=company.id, timecard_id=uuid.uuid4(), state="failed",
                                     error_kind=kind, attempts=1, next_attempt_at=NOW + timedelta(minutes=5)))
        s.add(SyncJob(id=uuid.uuid4(), integration_id=iid, company_id=company.id, status="completed",
                      created_at=NOW - timedelta(minutes=3), completed_at=NOW - timedelta(minutes=2)))
        await s.commit()
    h = await check(sessionmaker, company.id)
    assert (h["failedTimecards"], h["retryingTimecards"]) == (1, 2)
    assert h["status"] == "degraded" and h["reasons"] == ["1 timecard(s) need a mapping or data fix"]

    async with sessionmaker() as s:  # once the data fix is done, only the retries remain: they are not a fault
        await s.execute(TimecardSyncRecord.__table__.delete().where(TimecardSyncRecord.error_kind == "validation"))
        await s.commit()
    h = await check(sessionmaker, company.id)
    assert h["status"] == "healthy" and h["reasons"] == [] and h["retryingTimecards"] == 2
