"""Rows for mapping tests: Core workers/projects/cost codes/timecards, profiles, directory records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.models import CostCode, Project, Timecard, User
from qbo_integration.directory.models import QboDirectoryRecord
from qbo_integration.mapping.models import MappingProfile


def add_worker(s: AsyncSession, company_id: uuid.UUID, name: str, email: str | None = None,
               qbo: str | None = None) -> User:
    u = User(id=uuid.uuid4(), company_id=company_id, name=name, email=email, role="field_worker", active=True,
             external_ids={"qbo": qbo} if qbo else {})
    s.add(u)
    return u


def add_project(s: AsyncSession, company_id: uuid.UUID, name: str, qbo: str | None = None) -> Project:
    p = Project(id=uuid.uuid4(), company_id=company_id, name=name, status="active",
                external_ids={"qbo": qbo} if qbo else {})
    s.add(p)
    return p


def add_cost_code(s: AsyncSession, company_id: uuid.UUID, code: str, name: str) -> CostCode:
    c = CostCode(id=uuid.uuid4(), company_id=company_id, code=code, name=name, active=True)
    s.add(c)
    return c


def add_timecard(s: AsyncSession, company_id: uuid.UUID, worker: User, project: Project,
                 cost_code: CostCode | None = None, *, clock_in: datetime | None = None,
                 clock_out: datetime | None = None, break_minutes: int = 30, billable: bool = True,
                 notes: str | None = "Framing", status: str = "approved", sync_status: str = "not_synced") -> Timecard:
    ci = clock_in or datetime(2026, 7, 2, 13, 0, tzinfo=UTC)
    co = clock_out or datetime(2026, 7, 2, 21, 30, tzinfo=UTC)
    hours = Decimal((co - ci).total_seconds() / 3600 - break_minutes / 60).quantize(Decimal("0.01"))
    t = Timecard(id=uuid.uuid4(), company_id=company_id, worker_id=worker.id, project_id=project.id,
                 cost_code_id=cost_code.id if cost_code else None, clock_in=ci, clock_out=co,
                 break_minutes=break_minutes, total_hours=hours, billable=billable, notes=notes, status=status,
                 approved_at=ci if status == "approved" else None, version=1, sync_status=sync_status)
    s.add(t)
    return t


def add_profile(s: AsyncSession, company_id: uuid.UUID, config: dict[str, Any], *, name: str = "Default",
                cost_code_field: str = "ServiceItem", active: bool = True) -> MappingProfile:
    p = MappingProfile(id=uuid.uuid4(), company_id=company_id, name=name, active=active,
                       cost_code_field=cost_code_field, config=config, revision=1)
    s.add(p)
    return p


def add_record(s: AsyncSession, company_id: uuid.UUID, entity_type: str, qbo_id: str, name: str, *,
               email: str | None = None, active: bool = True, deleted: bool = False,
               item_type: str | None = None) -> QboDirectoryRecord:
    r = QboDirectoryRecord(id=uuid.uuid4(), company_id=company_id, entity_type=entity_type, qbo_id=qbo_id,
                           name=name, email=email, active=active, deleted=deleted,
                           orphaned=(not active) or deleted, item_type=item_type, raw={})
    s.add(r)
    return r
