"""Seeding Core data and audit rows for the monitoring/exports tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from qbo_integration.core_platform.models import CostCode, Project, Timecard, User
from qbo_integration.monitoring.models import AuditLogEntry


@dataclass
class Seeded:
    worker_id: uuid.UUID
    project_id: uuid.UUID
    timecard_ids: list[uuid.UUID]


async def seed_timecards(sessionmaker, company_id: uuid.UUID, n: int, *,
                         first_clock_in: datetime = datetime(2026, 11, 2, 15, 0, tzinfo=UTC),
                         status: str = "approved", worker_name: str = "Ada Lovelace",
                         project_name: str = "Main St Remodel", notes: str | None = None) -> Seeded:
    async with sessionmaker() as s:
        worker = User(id=uuid.uuid4(), company_id=company_id, name=worker_name, email=f"{uuid.uuid4().hex[:6]}@x.test",
                      role="field_worker", external_ids={"qbo": "1"})
        project = Project(id=uuid.uuid4(), company_id=company_id, name=project_name, external_ids={"qbo": "1"})
        code = CostCode(id=uuid.uuid4(), company_id=company_id, code="100", name="Hours")
        s.add_all([worker, project, code])
        await s.flush()
        ids = []
        for i in range(n):
            start = first_clock_in + timedelta(days=i)
            tc = Timecard(id=uuid.uuid4(), company_id=company_id, worker_id=worker.id, project_id=project.id,
                          cost_code_id=code.id, clock_in=start, clock_out=start + timedelta(hours=8, minutes=30),
                          break_minutes=30, total_hours=Decimal("8.00"), billable=i % 2 == 0, notes=notes,
                          status=status, approved_at=start + timedelta(hours=9) if status == "approved" else None,
                          version=1)
            s.add(tc)
            ids.append(tc.id)
        await s.commit()
    return Seeded(worker.id, project.id, ids)


async def add_audit(sessionmaker, integration_id: uuid.UUID, company_id: uuid.UUID, *, created_at: datetime,
                    action: str = "sync_timecard", status: str = "success", **kw) -> uuid.UUID:
    async with sessionmaker() as s:
        row = AuditLogEntry(id=uuid.uuid4(), integration_id=integration_id, company_id=company_id, action=action,
                            status=status, created_at=created_at, **kw)
        s.add(row)
        await s.commit()
        return row.id
