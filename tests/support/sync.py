"""Test helpers for sync: a movable clock, Core data written directly, a worker ctx, the sandbox's view."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from qbo_integration.connections.crypto import TokenCipher
from qbo_integration.connections.models import Integration
from qbo_integration.connections.token_store import DbTokenStore
from qbo_integration.core_platform.events import CoreEvent
from qbo_integration.core_platform.models import CostCode, Project, Timecard, User
from qbo_integration.mapping.models import MappingProfile
from qbo_integration.mapping.sync_mapper import MAPPER
from qbo_integration.qbo import BreakerConfig, LimitsConfig, QboApi, QboConfig, RetryConfig
from qbo_integration.reconciliation.findings import supersede
from qbo_integration.sync import intake
from qbo_integration.sync.models import SyncJob, TimecardSyncRecord
from qbo_integration.worker.queue import JobQueue

DENVER_DAY = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 07:00 in Denver (MST, -07:00)
HOURLY_RATE = 65  # the seeded profile's default bill rate: QBO refuses billable time without HourlyRate


class Clock:
    """One movable clock for the outbox (datetime) and the QBO client's breaker (epoch seconds)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


async def no_sleep(_: float) -> None:
    return None


def make_api(sandbox_url: str, redis: Any, sessionmaker: Any, settings: Any, clock: Clock, *,
             breaker: bool = False, tries: int = 1, limits: bool = True, timeout: float = 120.0) -> QboApi:
    config = QboConfig.local_sandbox(
        sandbox_url, limits=LimitsConfig(enabled=limits), retry=RetryConfig(max_tries=tries),
        breaker=BreakerConfig(enabled=breaker), timeout=timeout,
    )
    store = DbTokenStore(sessionmaker, TokenCipher(settings.token_encryption_keys.get_secret_value()))
    return QboApi(config, redis, store, sleep=no_sleep, clock=clock.epoch)


def make_ctx(*, sessionmaker: Any, arq_redis: Any, api: QboApi, clock: Clock, settings: Any,
             worker: str = "test-worker") -> dict[str, Any]:
    return {"sessionmaker": sessionmaker, "redis": arq_redis, "queue": JobQueue(arq_redis), "qbo": api,
            "clock": clock, "settings": settings, "worker_name": worker, "mapper": MAPPER, "on_written": supersede}


@dataclass
class Core:
    """A company's Core data for the tests: one worker (QBO Employee 1), one project (Customer 1)."""

    company_id: uuid.UUID
    worker_id: uuid.UUID
    project_id: uuid.UUID
    cost_code_id: uuid.UUID
    timecards: list[uuid.UUID] = field(default_factory=list)


async def seed_core(sessionmaker: Any, company_id: uuid.UUID, *, employee: str = "1", customer: str = "1") -> Core:
    core = Core(company_id, uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    async with sessionmaker() as s:
        s.add(User(id=core.worker_id, company_id=company_id, name="Emily Platt", email="emily@acme.test",
                   external_ids={"qbo": employee}))
        s.add(Project(id=core.project_id, company_id=company_id, name="Cool Cars", external_ids={"qbo": customer}))
        s.add(CostCode(id=core.cost_code_id, company_id=company_id, code="100", name="Framing"))
        await s.flush()
        s.add(MappingProfile(id=uuid.uuid4(), company_id=company_id, name="Default", active=True,
                             cost_code_field="ServiceItem", config={"costCodeMapping": {str(core.cost_code_id): "1"},
                                                                   "hourlyRates": {"default": HOURLY_RATE}}))
        await s.commit()
    return core


async def enable_live_sync(sessionmaker: Any, company_id: uuid.UUID, *, enabled: bool = True) -> None:
    async with sessionmaker() as s:
        await s.execute(update(Integration).where(Integration.company_id == company_id).values(enabled=enabled))
        await s.commit()


async def add_timecard(sessionmaker: Any, core: Core, *, start: datetime = DENVER_DAY, hours: float = 8.5,
                       break_minutes: int = 30, status: str = "approved", billable: bool = True,
                       notes: str | None = "Framing, level 2", worker_id: uuid.UUID | None = None) -> uuid.UUID:
    tid = uuid.uuid4()
    async with sessionmaker() as s:
        s.add(Timecard(
            id=tid, company_id=core.company_id, worker_id=worker_id or core.worker_id, project_id=core.project_id,
            cost_code_id=core.cost_code_id, clock_in=start, clock_out=start + timedelta(hours=hours),
            break_minutes=break_minutes, total_hours=Decimal(str(hours - break_minutes / 60)).quantize(Decimal("0.01")),
            billable=billable, notes=notes, status=status,
            approved_at=datetime.now(UTC) if status == "approved" else None, version=1,
        ))
        await s.commit()
    core.timecards.append(tid)
    return tid


async def approve_days(ctx: Any, sessionmaker: Any, core: Core, n: int) -> list[uuid.UUID]:
    """`n` approved timecards on consecutive days (notes "day i"), each announced by its event."""
    tids = [await add_timecard(sessionmaker, core, start=DENVER_DAY + timedelta(days=i), notes=f"day {i}")
            for i in range(n)]
    for tid in tids:
        await intake.handle_event(ctx, event("timecard.approved", core, tid, 1))
    return tids


async def change_timecard(sessionmaker: Any, tid: uuid.UUID, **values: Any) -> int:
    """Edit a timecard as Core would: the version goes up. Returns the new version."""
    async with sessionmaker() as s:
        tc = await s.get(Timecard, tid)
        assert tc is not None
        for k, v in values.items():
            setattr(tc, k, v)
        if values.get("status") == "approved":
            tc.approved_at = datetime.now(UTC)
        tc.version += 1
        version = tc.version
        await s.commit()
    return version


async def delete_timecard(sessionmaker: Any, tid: uuid.UUID) -> None:
    async with sessionmaker() as s:
        tc = await s.get(Timecard, tid)
        if tc is not None:
            await s.delete(tc)
        await s.commit()


def event(name: str, core: Core, tid: uuid.UUID, version: int) -> CoreEvent:
    return CoreEvent.model_validate({
        "event": name, "eventId": str(uuid.uuid4()), "occurredAt": datetime.now(UTC).isoformat(),
        "companyId": str(core.company_id), "timecardId": str(tid), "version": version,
    })


def event_json(ev: CoreEvent) -> str:
    return json.dumps(ev.model_dump(mode="json", by_alias=True))


async def row(sessionmaker: Any, tid: uuid.UUID) -> TimecardSyncRecord | None:
    async with sessionmaker() as s:
        return (await s.execute(select(TimecardSyncRecord).where(TimecardSyncRecord.timecard_id == tid))
                ).scalar_one_or_none()


async def core_timecard(sessionmaker: Any, tid: uuid.UUID) -> Timecard | None:
    async with sessionmaker() as s:
        return await s.get(Timecard, tid)


async def jobs_of(sessionmaker: Any, company_id: uuid.UUID) -> list[SyncJob]:
    async with sessionmaker() as s:
        return list((await s.execute(select(SyncJob).where(SyncJob.company_id == company_id)
                                     .order_by(SyncJob.created_at))).scalars())


async def activities(sandbox: Any, realm: str, *, deleted: bool = False) -> list[dict[str, Any]]:
    """TimeActivities the sandbox holds (those we made: the sample company may have its own)."""
    r = await sandbox.get(f"/_sandbox/realms/{realm}/entities/TimeActivity",
                          params={"includeDeleted": 1} if deleted else None)
    r.raise_for_status()
    return r.json()["items"]


async def sandbox_log(sandbox: Any, realm: str, since: float = 0, *, queries: bool = False) -> list[dict[str, Any]]:
    """TimeActivity writes and batches (and with `queries`, the look-ups that settle lost creates)."""
    r = await sandbox.get(f"/_sandbox/realms/{realm}/log", params={"since": since})
    r.raise_for_status()
    return [e for e in r.json() if "/timeactivity" in e["path"] or e["path"].endswith("/batch")
            or (queries and e["path"].endswith("/query"))]


async def wait_for(predicate: Any, timeout: float = 90.0, interval: float = 0.05) -> Any:
    """Poll an async predicate until it returns something truthy (no fixed sleeps; the timeout is
    generous because a loaded 2-core CI machine is slow, and a passing run never waits for it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def switch_company_now(sessionmaker: Any, company_id: uuid.UUID, old_realm: str,
                             new_realm: str = "4620816365999999999") -> None:
    """The admin's confirmed switch to another QuickBooks company, committed at once (as the OAuth callback
    would): for tests where it lands in the middle of a job."""
    from qbo_integration.connections.models import Integration
    from qbo_integration.realms.switch import switch_realm

    async with sessionmaker() as s:
        integ = (await s.execute(select(Integration).where(Integration.company_id == company_id))).scalar_one()
        await switch_realm(s, integration_id=integ.id, company_id=company_id, old_realm=old_realm,
                           new_realm=new_realm, actor="test")
        integ.realm_id = new_realm
        await s.commit()
