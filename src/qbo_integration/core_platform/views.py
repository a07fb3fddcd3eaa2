"""What the rest of the service sees of Core's data: plain frozen records, no ORM objects."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from qbo_integration.core_platform.zones import company_zone


@dataclass(frozen=True)
class CompanyView:
    id: uuid.UUID
    name: str
    timezone: str
    admin_email: str | None

    @property
    def zone(self) -> ZoneInfo:
        """The company's ZoneInfo; BadCompanyTimezone (a clear 409) when Core's value is not a zone."""
        return company_zone(self.timezone, self.id)


@dataclass(frozen=True)
class WorkerView:
    id: uuid.UUID
    name: str
    email: str | None
    active: bool
    external_ids: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectView:
    id: uuid.UUID
    name: str
    status: str
    external_ids: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CostCodeView:
    id: uuid.UUID
    code: str
    name: str
    active: bool


@dataclass(frozen=True)
class TimecardView:
    id: uuid.UUID
    company_id: uuid.UUID
    worker: WorkerView
    project: ProjectView
    cost_code: CostCodeView | None
    clock_in: datetime
    clock_out: datetime
    break_minutes: int
    total_hours: Decimal
    billable: bool
    notes: str | None
    status: str
    approved_at: datetime | None
    updated_at: datetime
    version: int
    sync_status: str
    qbo_id: str | None
