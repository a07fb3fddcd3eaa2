"""Timecard → TimeActivity payload: resolve references, then format (see docs/internal-contracts.md).

The sync engine, test-mapping and the dry run all call `build_time_activity`, so a preview is exactly
what would be sent. Resolution order for refs: the company's active mapping profile (explicit maps),
then `external_ids["qbo"]` on the worker/project. Cost codes have no QBO id in Core: without an
active profile they are left out (ItemRef is optional in QBO); with one, an unmapped cost code is an
error. Names come from our copy of the QBO directory, which also tells us when a mapped record has
gone inactive or been deleted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.views import CompanyView, TimecardView
from qbo_integration.directory import service as directory
from qbo_integration.directory.service import ENTITY_LABELS, DirEntry
from qbo_integration.mapping.profiles import ProfileConfig, active_config
from qbo_integration.mapping.timeactivity import FieldError, format_time_activity, missing_bill_rate, ref

__all__ = ["FieldError", "PayloadResult", "ResolvedRefs", "build_time_activities", "build_time_activity",
           "resolve_refs"]


@dataclass(frozen=True)
class PayloadResult:
    payload: dict[str, Any] | None  # the exact TimeActivity body to send (None when errors)
    errors: list[FieldError]
    profile_id: uuid.UUID | None
    profile_revision: int | None

    @property
    def ok(self) -> bool:
        return self.payload is not None and not self.errors


@dataclass
class ResolvedRefs:
    """Which QBO ids a timecard points at (before formatting), with the reference problems found."""

    employee: tuple[str, str] | None = None  # (entity, qbo id): ("Employee", id) or ("Vendor", id)
    customer: tuple[str, str] | None = None
    cost_code: tuple[str, str] | None = None
    department: tuple[str, str] | None = None
    errors: list[FieldError] = field(default_factory=list)

    def keys(self) -> list[tuple[str, str]]:
        return [k for k in (self.employee, self.customer, self.cost_code, self.department) if k]


def unmapped_worker(name: str) -> FieldError:
    return FieldError("EmployeeRef", f"Worker '{name}' is not mapped to a QuickBooks employee",
                      f"Map '{name}' in Mapping → Workers, or import employees from QuickBooks")


def unmapped_project(name: str) -> FieldError:
    return FieldError("CustomerRef", f"Project '{name}' is not mapped to a QuickBooks customer",
                      f"Map '{name}' in Mapping → Projects, or import customers from QuickBooks")


def resolve_refs(cfg: ProfileConfig, tc: TimecardView) -> ResolvedRefs:
    out = ResolvedRefs()
    worker, project = tc.worker, tc.project
    vendor = cfg.vendors.get(str(worker.id))  # a subcontractor mapping wins over the import's employee link
    emp = cfg.employees.get(str(worker.id)) or _external_qbo(worker.external_ids)
    if vendor:
        out.employee = ("Vendor", vendor)
    elif emp:
        out.employee = ("Employee", emp)
    else:
        out.errors.append(unmapped_worker(worker.name))
    cust = cfg.customers.get(str(project.id)) or _external_qbo(project.external_ids)
    if cust:
        out.customer = ("Customer", cust)
    else:
        out.errors.append(unmapped_project(project.name))
    if tc.cost_code is not None and cfg.exists:
        target = cfg.cost_codes.get(str(tc.cost_code.id))
        label = ENTITY_LABELS[cfg.cost_code_entity]
        if target:
            out.cost_code = (cfg.cost_code_entity, target)
        else:
            cc = _cost_code_label(tc)
            out.errors.append(FieldError(
                cfg.cost_code_ref_field, f"Cost code '{cc}' is not mapped to a QuickBooks {label}",
                f"Map '{cc}' to a {label} in Mapping → Cost codes"))
    loc = cfg.locations.get(str(project.id))
    if loc:
        out.department = ("Department", loc)
    return out


def _external_qbo(external_ids: dict[str, Any] | None) -> str | None:
    value = (external_ids or {}).get("qbo")
    return str(value) if value not in (None, "") else None


def _cost_code_label(tc: TimecardView) -> str:
    cc = tc.cost_code
    assert cc is not None
    return f"{cc.code} {cc.name}".strip() if cc.name and cc.name != cc.code else cc.code


_FIELD_OF = {"Employee": "EmployeeRef", "Vendor": "VendorRef", "Customer": "CustomerRef", "Item": "ItemRef", "Class": "ClassRef",
             "Department": "DepartmentRef"}
_WHO = {"Employee": ("Worker", "worker", "Workers"), "Vendor": ("Worker", "worker", "Workers"),
        "Customer": ("Project", "project", "Projects"),
        "Item": ("Cost code", "cost code", "Cost codes"), "Class": ("Cost code", "cost code", "Cost codes"),
        "Department": ("Project", "project", "Locations")}


def inactive_error(entity: str, qbo_id: str, rec: DirEntry, crewflow_name: str) -> FieldError:
    """A mapped QBO record that QBO will refuse (inactive / deleted / gone)."""
    label = ENTITY_LABELS.get(entity, entity.lower())
    who, _, page = _WHO.get(entity, ("Record", "record", "Mapping"))
    return FieldError(
        _FIELD_OF.get(entity, entity),
        f"{who} '{crewflow_name}' is mapped to QuickBooks {label} '{rec.name}' (Id {qbo_id}), which {rec.state_words}",
        f"Reactivate '{rec.name}' in QuickBooks, or map '{crewflow_name}' to another {label} in Mapping → {page}"
        f"{_REFRESH if not rec.active and not rec.deleted else ''}")


# Our copy of the directory is as of the last import or webhook: the bookkeeper may have reactivated it since.
_REFRESH = ". Active in QuickBooks already? Press Import again in Mapping to refresh our copy"


def _crewflow_name(entity: str, tc: TimecardView) -> str:
    if entity in ("Employee", "Vendor"):
        return tc.worker.name
    if entity in ("Customer", "Department"):
        return tc.project.name
    return _cost_code_label(tc) if tc.cost_code else ""


def assemble(cfg: ProfileConfig, company: CompanyView, tc: TimecardView, refs: ResolvedRefs,
             known: dict[tuple[str, str], DirEntry]) -> PayloadResult:
    """Refs + directory knowledge + formatting → the result (pure; used for bulk previews too)."""
    errors = list(refs.errors)
    for key in refs.keys():
        rec = known.get(key)
        if rec is not None and not rec.usable:
            errors.append(inactive_error(key[0], key[1], rec, _crewflow_name(key[0], tc)))

    def r(key: tuple[str, str] | None) -> dict[str, str] | None:
        if key is None:
            return None
        rec = known.get(key)
        return ref(key[1], rec.name if rec else None)

    cost_ref = r(refs.cost_code)
    vendor = refs.employee is not None and refs.employee[0] == "Vendor"
    rate = cfg.hourly_rate(tc.project.id)
    if tc.billable and rate is None:
        errors.append(missing_bill_rate(tc.worker.name, tc.project.name))
    payload, fmt_errors = format_time_activity(
        tc, timezone=company.timezone, customer_ref=r(refs.customer),
        employee_ref=None if vendor else r(refs.employee), vendor_ref=r(refs.employee) if vendor else None,
        item_ref=cost_ref if refs.cost_code and refs.cost_code[0] == "Item" else None,
        class_ref=cost_ref if refs.cost_code and refs.cost_code[0] == "Class" else None,
        department_ref=r(refs.department), hourly_rate=rate, cost_rate=cfg.cost_rate(tc.worker.id),
        map_start_end=cfg.map_start_end,
    )
    # The formatter's own "no employee"/"billable needs a customer" errors repeat what resolution said.
    seen = {e.field for e in errors}
    errors += [e for e in fmt_errors if not (e.field in seen or
                                             (e.field == "BillableStatus" and "CustomerRef" in seen))]
    return PayloadResult(payload=None if errors else payload, errors=errors,
                         profile_id=cfg.profile_id, profile_revision=cfg.revision)


async def build_time_activity(session: AsyncSession, company: CompanyView, timecard: TimecardView, *,
                              config: ProfileConfig | None = None) -> PayloadResult:
    """The exact TimeActivity body for this timecard, or the errors (field + fix) that prevent it.

    `config` lets a caller building many payloads load the active profile once."""
    cfg = config if config is not None else await active_config(session, company.id)
    refs = resolve_refs(cfg, timecard)
    known = await directory.lookup(session, company.id, refs.keys())
    return assemble(cfg, company, timecard, refs, known)


async def build_time_activities(session: AsyncSession, company: CompanyView, timecards: list[TimecardView], *,
                                config: ProfileConfig | None = None) -> dict[uuid.UUID, PayloadResult]:
    """`build_time_activity` for many timecards (a sync round) with one directory look-up for all."""
    cfg = config if config is not None else await active_config(session, company.id)
    refs = {tc.id: resolve_refs(cfg, tc) for tc in timecards}
    known = await directory.lookup(session, company.id, {k for r in refs.values() for k in r.keys()})
    return {tc.id: assemble(cfg, company, tc, refs[tc.id], known) for tc in timecards}
