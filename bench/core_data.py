"""The CrewFlow side of a bench run: companies with a connected integration, their timecards, approvals
as Core makes them, and Sync Now."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis
from sandbox_admin import SandboxAdmin
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

DEFAULT_TZ = "America/Denver"
HOURLY_RATE = 65  # billable time needs a bill rate (HourlyRate): QBO refuses it without one
BASE_DAY = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 07:00 in Denver


@dataclass
class BenchCompany:
    index: int
    company_id: uuid.UUID
    integration_id: uuid.UUID
    realm_id: str
    worker_id: uuid.UUID
    project_id: uuid.UUID
    cost_code_id: uuid.UUID
    access_token: str
    timecards: list[uuid.UUID] = field(default_factory=list)


def bench_tag(timecard_id: uuid.UUID) -> str:
    """The timecard note: how the reconciliation finds the TimeActivity (it becomes the Description)."""
    return f"bench {timecard_id}"


def _approved_event(company_id: uuid.UUID, timecard_id: uuid.UUID, version: int, now: datetime) -> str:
    return json.dumps({"event": "timecard.approved", "eventId": str(uuid.uuid4()), "occurredAt": now.isoformat(),
                       "companyId": str(company_id), "timecardId": str(timecard_id), "version": version})


@dataclass
class CoreData:
    """Writes what CrewFlow would: rows in the run's database, events on its Redis channels. `companies`
    is the run's list (Stack.companies): every company added is appended to it."""

    sm: async_sessionmaker[AsyncSession]
    sandbox: SandboxAdmin
    redis: Redis
    queue: Any  # qbo_integration.queue.JobQueue
    channel_prefix: str
    companies: list[BenchCompany]

    async def add_company(self, index: int, *, enabled: bool = True, realm: str | None = None) -> BenchCompany:
        from qbo_integration.config import DEV_ENCRYPTION_KEY
        from qbo_integration.connections.crypto import TokenCipher, aad_for
        from qbo_integration.connections.models import Integration
        from qbo_integration.core_platform.models import Company, CostCode, Project, User
        from qbo_integration.mapping.models import MappingProfile

        realm = realm or await self.sandbox.new_realm()
        tokens = await self.sandbox.grant(realm)
        now = datetime.now(UTC)
        c = BenchCompany(index, uuid.uuid4(), uuid.uuid4(), realm, uuid.uuid4(), uuid.uuid4(), uuid.uuid4(),
                         tokens["access_token"])
        cipher, aad = TokenCipher(DEV_ENCRYPTION_KEY), aad_for(c.integration_id)
        async with self.sm() as s:
            s.add(Company(id=c.company_id, name=f"Bench Co {index}", timezone=DEFAULT_TZ,
                          admin_email=f"admin{index}@bench.test"))
            await s.flush()
            s.add(User(id=c.worker_id, company_id=c.company_id, name="Emily Platt", email=f"w{index}@bench.test",
                       external_ids={"qbo": "1"}))
            s.add(Project(id=c.project_id, company_id=c.company_id, name="Cool Cars", external_ids={"qbo": "1"}))
            s.add(CostCode(id=c.cost_code_id, company_id=c.company_id, code="100", name="Framing"))
            s.add(MappingProfile(id=uuid.uuid4(), company_id=c.company_id, name="Default", active=True,
                                 cost_code_field="ServiceItem",
                                 config={"costCodeMapping": {str(c.cost_code_id): "1"},
                                         "hourlyRates": {"default": HOURLY_RATE}}))
            s.add(Integration(
                id=c.integration_id, company_id=c.company_id, type="quickbooks", enabled=enabled, status="healthy",
                realm_id=realm, qbo_company_name=f"Bench Co {index}", connection_status="connected",
                connection_changed_at=now, connected_by="bench",
                access_token_enc=cipher.encrypt(tokens["access_token"], aad),
                refresh_token_enc=cipher.encrypt(tokens["refresh_token"], aad),
                access_token_expires_at=now + timedelta(seconds=int(tokens["expires_in"])),
                refresh_token_expires_at=now + timedelta(seconds=int(tokens["x_refresh_token_expires_in"])),
            ))
            await s.commit()
        self.companies.append(c)
        return c

    async def add_companies(self, n: int, **kw: Any) -> list[BenchCompany]:
        start = len(self.companies)
        return [await self.add_company(start + i, **kw) for i in range(n)]

    async def add_timecards(self, c: BenchCompany, n: int, *, approved: bool = True,
                            approved_at: datetime | None = None) -> list[uuid.UUID]:
        """n timecards (bulk insert), varying length 4.0-8.0 h with a 30-minute break."""
        from qbo_integration.core_platform.models import Timecard

        ids: list[uuid.UUID] = []
        now = approved_at or datetime.now(UTC)
        rows = []
        for i in range(n):
            tid = uuid.uuid4()
            k = len(c.timecards) + i
            start = BASE_DAY + timedelta(days=k // 4, hours=(k % 4) * 0.25)
            hours = 4.5 + (k % 9) * 0.5
            rows.append({
                "id": tid, "company_id": c.company_id, "worker_id": c.worker_id, "project_id": c.project_id,
                "cost_code_id": c.cost_code_id, "clock_in": start, "clock_out": start + timedelta(hours=hours),
                "break_minutes": 30, "total_hours": Decimal(str(hours - 0.5)), "billable": True,
                "notes": bench_tag(tid), "status": "approved" if approved else "submitted",
                "approved_at": now if approved else None, "version": 1,
            })
            ids.append(tid)
        async with self.sm() as s:
            for start_i in range(0, len(rows), 2000):
                await s.execute(insert(Timecard), rows[start_i:start_i + 2000])
            await s.commit()
        c.timecards.extend(ids)
        return ids

    async def approve(self, c: BenchCompany, timecard_id: uuid.UUID) -> datetime:
        """Approve a submitted timecard as Core does (version + 1) and publish `timecard.approved`."""
        from qbo_integration.core_platform.models import Timecard

        now = datetime.now(UTC)
        async with self.sm() as s:
            version = (await s.execute(
                update(Timecard).where(Timecard.id == timecard_id)
                .values(status="approved", approved_at=now, version=Timecard.version + 1)
                .returning(Timecard.version))).scalar_one()
            await s.commit()
        await self.redis.publish(self.channel_prefix + "timecard.approved",
                                 _approved_event(c.company_id, timecard_id, version, now))
        return now

    async def approve_many(self, c: BenchCompany, timecard_ids: Sequence[uuid.UUID]) -> int:
        """Approve several timecards in one statement, then publish one event each.

        Returns how many events could not be published (Redis down): the sweep must find those."""
        from qbo_integration.core_platform.models import Timecard

        now = datetime.now(UTC)
        async with self.sm() as s:
            rows = (await s.execute(
                update(Timecard).where(Timecard.id.in_(list(timecard_ids)))
                .values(status="approved", approved_at=now, version=Timecard.version + 1)
                .returning(Timecard.id, Timecard.version))).all()
            await s.commit()
        unpublished = 0
        for tid, version in rows:
            try:
                await self.redis.publish(self.channel_prefix + "timecard.approved",
                                         _approved_event(c.company_id, tid, version, now))
            except Exception:  # noqa: BLE001 - Redis is down: Core's event is lost, as pub/sub does
                unpublished += 1
        return unpublished

    async def set_enabled(self, companies: Sequence[BenchCompany], enabled: bool) -> None:
        from qbo_integration.connections.models import Integration

        async with self.sm() as s:
            await s.execute(update(Integration).where(Integration.company_id.in_([c.company_id for c in companies]))
                            .values(enabled=enabled))
            await s.commit()

    async def request_sync(self, companies: Sequence[BenchCompany]) -> float:
        """Sync Now for each company (public sync.service.request_sync); returns the monotonic start."""
        from qbo_integration.sync.service import request_sync

        t0 = time.monotonic()
        for c in companies:
            async with self.sm() as s:
                await request_sync(s, self.queue, c.company_id, trigger="admin")
                await s.commit()
                await self.queue.flush(s)
        return t0
