"""Mapping profiles: reading them and the shape of their `config`.

config = {
  "employeeMapping": {crewflowWorkerId: qboEmployeeId},
  "vendorMapping": {crewflowWorkerId: qboVendorId},             # subcontractors → NameOf Vendor + VendorRef
  "customerMapping": {crewflowProjectId: qboCustomerId},
  "costCodeMapping": {crewflowCostCodeId: qboItemId | qboClassId},
  "locationMapping": {crewflowProjectId: qboDepartmentId},      # optional → DepartmentRef
  "hourlyRates": {"default": number | null, "projects": {crewflowProjectId: number}},  # → HourlyRate
  "costRates": {"default": number | null, "workers": {crewflowWorkerId: number}},      # → CostRate
  "mapStartEnd": bool,   # true: StartTime/EndTime + break; false: Hours/Minutes
}
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, String, cast, delete, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.mapping.models import MappingProfile

COST_CODE_FIELDS = ("ServiceItem", "Class")
DEFAULT_PROFILE_NAME = "Default"


def _rate_map(value: Any) -> dict[str, Decimal]:
    if not isinstance(value, dict):
        return {}
    return {str(k): r for k, v in value.items() if (r := _rate(v)) is not None}


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if v not in (None, "")}


def _rate(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() and d >= 0 else None


@dataclass(frozen=True)
class ProfileConfig:
    """A profile as the payload builder uses it (ids as strings)."""

    profile_id: uuid.UUID | None = None
    revision: int | None = None
    name: str | None = None
    cost_code_field: str = "ServiceItem"
    employees: dict[str, str] = field(default_factory=dict)
    vendors: dict[str, str] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)
    cost_codes: dict[str, str] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)
    default_rate: Decimal | None = None
    project_rates: dict[str, Decimal] = field(default_factory=dict)
    default_cost_rate: Decimal | None = None
    worker_cost_rates: dict[str, Decimal] = field(default_factory=dict)
    map_start_end: bool = True

    @property
    def exists(self) -> bool:
        return self.profile_id is not None

    @property
    def cost_code_entity(self) -> str:
        """The QBO entity a cost code maps to under this profile."""
        return "Class" if self.cost_code_field == "Class" else "Item"

    @property
    def cost_code_ref_field(self) -> str:
        return "ClassRef" if self.cost_code_field == "Class" else "ItemRef"

    def hourly_rate(self, project_id: uuid.UUID | str) -> Decimal | None:
        return self.project_rates.get(str(project_id), self.default_rate)

    def cost_rate(self, worker_id: uuid.UUID | str) -> Decimal | None:
        return self.worker_cost_rates.get(str(worker_id), self.default_cost_rate)

    @classmethod
    def from_profile(cls, p: MappingProfile | None) -> ProfileConfig:
        if p is None:
            return cls()
        cfg = p.config or {}
        raw_rates, raw_costs = cfg.get("hourlyRates"), cfg.get("costRates")
        rates: dict[str, Any] = raw_rates if isinstance(raw_rates, dict) else {}
        costs: dict[str, Any] = raw_costs if isinstance(raw_costs, dict) else {}
        return cls(
            profile_id=p.id, revision=p.revision, name=p.name,
            cost_code_field=p.cost_code_field if p.cost_code_field in COST_CODE_FIELDS else "ServiceItem",
            employees=_str_map(cfg.get("employeeMapping")), vendors=_str_map(cfg.get("vendorMapping")),
            customers=_str_map(cfg.get("customerMapping")),
            cost_codes=_str_map(cfg.get("costCodeMapping")), locations=_str_map(cfg.get("locationMapping")),
            default_rate=_rate(rates.get("default")), project_rates=_rate_map(rates.get("projects")),
            default_cost_rate=_rate(costs.get("default")), worker_cost_rates=_rate_map(costs.get("workers")),
            map_start_end=bool(cfg.get("mapStartEnd", True)),
        )


async def get_active_profile(session: AsyncSession, company_id: uuid.UUID) -> MappingProfile | None:
    stmt = select(MappingProfile).where(MappingProfile.company_id == company_id, MappingProfile.active.is_(True))
    return (await session.execute(stmt)).scalars().first()


async def active_config(session: AsyncSession, company_id: uuid.UUID) -> ProfileConfig:
    return ProfileConfig.from_profile(await get_active_profile(session, company_id))


async def seed_default_rates(session: AsyncSession, company_id: uuid.UUID, *, bill_rate: float | int,
                             pay_rate: float | int | None = None) -> bool:
    """A demo/dev company with no profile yet gets an active Default one holding only default rates, so its
    billable timecards can sync once the wizard maps the rest. False when the company has a profile.
    The caller commits."""
    if (await session.execute(select(MappingProfile.id).where(MappingProfile.company_id == company_id))).first():
        return False
    session.add(MappingProfile(id=uuid.uuid4(), company_id=company_id, name=DEFAULT_PROFILE_NAME, active=True,
                               cost_code_field="ServiceItem", revision=1,
                               config={"hourlyRates": {"default": bill_rate, "projects": {}},
                                       "costRates": {"default": pay_rate, "workers": {}}}))
    return True


async def list_profiles(session: AsyncSession, company_id: uuid.UUID) -> list[MappingProfile]:
    stmt = select(MappingProfile).where(MappingProfile.company_id == company_id).order_by(MappingProfile.created_at)
    return list((await session.execute(stmt)).scalars())


async def get_profile(session: AsyncSession, company_id: uuid.UUID, profile_id: uuid.UUID) -> MappingProfile | None:
    p = await session.get(MappingProfile, profile_id)
    return p if p is not None and p.company_id == company_id else None


async def profile_targets(session: AsyncSession, company_id: uuid.UUID) -> set[tuple[str, str]]:
    """(entity, qbo id) that any mapping profile of the company points at (the directory import is handed
    this to tell an orphaned record from one nothing uses)."""
    out: set[tuple[str, str]] = set()
    rows = await session.execute(select(MappingProfile.cost_code_field, MappingProfile.config)
                                 .where(MappingProfile.company_id == company_id))
    for ccf, raw_cfg in rows:
        cfg = raw_cfg or {}
        for key, entity in (("employeeMapping", "Employee"), ("vendorMapping", "Vendor"),
                            ("customerMapping", "Customer"),
                            ("locationMapping", "Department"),
                            ("costCodeMapping", "Class" if ccf == "Class" else "Item")):
            for v in (cfg.get(key) or {}).values():
                out.add((entity, str(v)))
    return out


def company_profiles(company_id: uuid.UUID) -> Select[tuple[str, Any]]:
    """The company's profiles as (ref, record): their QBO ids belong to the realm a switch leaves."""
    return select(cast(MappingProfile.id, String).label("ref"),
                  func.to_jsonb(literal_column(MappingProfile.__tablename__)).label("record")
                  ).where(MappingProfile.company_id == company_id)


async def delete_company_profiles(session: AsyncSession, company_id: uuid.UUID) -> int:
    result = await session.execute(delete(MappingProfile).where(MappingProfile.company_id == company_id)
                                   .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]
