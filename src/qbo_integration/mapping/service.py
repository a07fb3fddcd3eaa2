"""Mapping profiles: read, save (validated), create, activate. A change bumps the profile's
revision, writes an audit row, re-queues timecards that failed for mapping reasons and marks the
setup step. Services never commit; the request boundary does."""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.connections.models import Integration
from qbo_integration.connections.service import get_integration
from qbo_integration.core_platform.gateway import CoreGateway, require_company
from qbo_integration.core_platform.views import WorkerView
from qbo_integration.db.locks import hold_until_commit
from qbo_integration.directory import service as directory
from qbo_integration.directory.service import ENTITY_LABELS
from qbo_integration.errors import Conflict, InvalidInput, NotFound
from qbo_integration.mapping.models import MappingProfile
from qbo_integration.mapping.profiles import (
    DEFAULT_PROFILE_NAME,
    get_active_profile,
    get_profile,
    list_profiles,
)
from qbo_integration.mapping.schemas import (
    MappingConfigIn,
    MappingOut,
    MappingSaved,
    ProfileCreate,
    ProfileOut,
)
from qbo_integration.monitoring import audit
from qbo_integration.monitoring.setup import mark_step
from qbo_integration.queue import JobQueue
from qbo_integration.sync.service import requeue_failed


async def _one_writer(session: AsyncSession, company_id: uuid.UUID) -> None:
    """Profile writes of a company one at a time: a double-clicked first save or two activations at once
    would otherwise both pass their checks and meet the unique indexes (one name, one active profile)."""
    await hold_until_commit(session, f"mapping_profiles:{company_id}")


async def require_integration(session: AsyncSession, company_id: uuid.UUID) -> Integration:
    integ = await get_integration(session, company_id)
    if integ is None:
        raise Conflict("QuickBooks has never been connected for this company: connect it and import the "
                       "directory before mapping", code="not_connected")
    return integ


def profile_out(p: MappingProfile) -> ProfileOut:
    return ProfileOut(profile_id=p.id, profile_name=p.name, active=bool(p.active), cost_code_field=p.cost_code_field,
                      revision=p.revision, created_at=p.created_at, updated_at=p.updated_at)


# ------------------------------------------------------------------------------------------ read
async def get_mapping(session: AsyncSession, company_id: uuid.UUID, profile_id: uuid.UUID | None = None) -> MappingOut:
    await require_company(session, company_id)
    if profile_id is not None:
        p = await get_profile(session, company_id, profile_id)
        if p is None:
            raise NotFound("Unknown mapping profile for this company")
    else:
        p = await get_active_profile(session, company_id)
    cfg: dict[str, Any] = dict(p.config or {}) if p else {}
    gw = CoreGateway(session)
    emp = cfg.get("employeeMapping") or {}
    cust = cfg.get("customerMapping") or {}
    employees = [{"crewflowWorkerId": k, "qboEmployeeId": v, "source": "profile"} for k, v in emp.items()]
    vendors = cfg.get("vendorMapping") or {}  # a subcontractor's vendor wins over the import's employee link
    employees += [{"crewflowWorkerId": str(w.id), "qboEmployeeId": str(w.external_ids["qbo"]), "source": "import"}
                  for w in await gw.list_workers(company_id)
                  if str(w.id) not in emp and str(w.id) not in vendors and w.external_ids.get("qbo")]
    customers = [{"crewflowProjectId": k, "qboCustomerId": v, "source": "profile"} for k, v in cust.items()]
    customers += [{"crewflowProjectId": str(pr.id), "qboCustomerId": str(pr.external_ids["qbo"]), "source": "import"}
                  for pr in await gw.list_projects(company_id) if str(pr.id) not in cust and pr.external_ids.get("qbo")]
    ccf = p.cost_code_field if p else "ServiceItem"
    target_key = "qboClassId" if ccf == "Class" else "qboServiceItemId"
    rates = cfg.get("hourlyRates") or {}
    costs = cfg.get("costRates") or {}
    return MappingOut(
        company_id=company_id, profile_id=p.id if p else None, profile_name=p.name if p else None,
        revision=p.revision if p else None, active=bool(p.active) if p else False, cost_code_field=ccf,  # type: ignore[arg-type]
        employee_mapping=employees, customer_mapping=customers,
        vendor_mapping=[{"crewflowWorkerId": k, "qboVendorId": v} for k, v in vendors.items()],
        cost_code_mapping=[{"crewflowCostCodeId": k, target_key: v} for k, v in (cfg.get("costCodeMapping") or {}).items()],
        location_mapping=[{"crewflowProjectId": k, "qboDepartmentId": v}
                          for k, v in (cfg.get("locationMapping") or {}).items()],
        hourly_rates={"default": rates.get("default"),
                      "projects": [{"crewflowProjectId": k, "rate": v} for k, v in (rates.get("projects") or {}).items()]},
        cost_rates={"default": costs.get("default"),
                    "workers": [{"crewflowWorkerId": k, "rate": v} for k, v in (costs.get("workers") or {}).items()]},
        map_start_end=bool(cfg.get("mapStartEnd", True)),
    )


# ------------------------------------------------------------------------------------------ validate
def _dupes(ids: list[uuid.UUID]) -> list[str]:
    return sorted(str(i) for i, n in Counter(ids).items() if n > 1)


async def validate_config(session: AsyncSession, company_id: uuid.UUID, m: MappingConfigIn) -> tuple[dict[str, Any], list[str]]:
    """The profile config to store, or InvalidInput naming every unknown id. Returns (config, warnings)."""
    gw = CoreGateway(session)
    workers = {w.id for w in await gw.list_workers(company_id)}
    projects = {p.id for p in await gw.list_projects(company_id)}
    cost_codes = {c.id for c in await gw.list_cost_codes(company_id)}
    problems: list[dict[str, Any]] = []

    def check_ids(label: str, field: str, ids: list[uuid.UUID], known: set[uuid.UUID]) -> None:
        unknown = sorted({str(i) for i in ids if i not in known})
        if unknown:
            problems.append({"field": field, "problem": f"unknown CrewFlow {label} ids: {', '.join(unknown)}",
                             "ids": unknown})
        dup = _dupes(ids)
        if dup:
            problems.append({"field": field, "problem": f"{label} mapped more than once: {', '.join(dup)}", "ids": dup})

    rates = m.hourly_rates.projects if m.hourly_rates else []
    worker_costs = m.cost_rates.workers if m.cost_rates else []
    check_ids("worker", "employeeMapping", [e.crewflow_worker_id for e in m.employee_mapping], workers)
    check_ids("worker", "vendorMapping", [v.crewflow_worker_id for v in m.vendor_mapping], workers)
    check_ids("worker", "costRates.workers", [r.crewflow_worker_id for r in worker_costs], workers)
    both = sorted({str(e.crewflow_worker_id) for e in m.employee_mapping}
                  & {str(v.crewflow_worker_id) for v in m.vendor_mapping})
    if both:
        problems.append({"field": "vendorMapping", "ids": both,
                         "problem": "workers mapped to both a QuickBooks employee and a vendor (pick one: a "
                                    f"subcontractor is a vendor): {', '.join(both)}"})
    check_ids("project", "customerMapping", [c.crewflow_project_id for c in m.customer_mapping], projects)
    check_ids("cost code", "costCodeMapping", [c.crewflow_cost_code_id for c in m.cost_code_mapping], cost_codes)
    check_ids("project", "locationMapping", [loc.crewflow_project_id for loc in m.location_mapping], projects)
    check_ids("project", "hourlyRates.projects", [r.crewflow_project_id for r in rates], projects)

    cc_entity = "Class" if m.cost_code_field == "Class" else "Item"
    wrong = [str(c.crewflow_cost_code_id) for c in m.cost_code_mapping
             if (c.qbo_class_id is None) == (cc_entity == "Class")]
    if wrong:
        want = "qboClassId" if cc_entity == "Class" else "qboServiceItemId"
        problems.append({"field": "costCodeMapping", "ids": wrong,
                         "problem": f"costCodeField is {m.cost_code_field}: give {want} for cost codes {', '.join(wrong)}"})
    wanted = ([("Employee", e.qbo_employee_id) for e in m.employee_mapping]
              + [("Vendor", v.qbo_vendor_id) for v in m.vendor_mapping]
              + [("Customer", c.qbo_customer_id) for c in m.customer_mapping]
              + [(cc_entity, c.target) for c in m.cost_code_mapping]
              + [("Department", loc.qbo_department_id) for loc in m.location_mapping])
    known = await directory.lookup(session, company_id, wanted)
    warnings: list[str] = []
    missing: dict[str, list[str]] = {}
    for entity, qbo_id in wanted:
        rec = known.get((entity, qbo_id))
        if rec is None:
            missing.setdefault(entity, []).append(qbo_id)
        elif entity == "Item" and rec.item_type not in (None, "Service"):
            problems.append({"field": "costCodeMapping", "ids": [qbo_id],
                             "problem": f"QuickBooks item '{rec.name}' (Id {qbo_id}) is a {rec.item_type} item, "
                                        "not a service item"})
        elif not rec.usable:
            warnings.append(f"QuickBooks {ENTITY_LABELS[entity]} '{rec.name}' (Id {qbo_id}) {rec.state_words}: "
                            "timecards mapped to it will fail until it is reactivated or remapped")
    for entity, ids in missing.items():
        uniq = sorted(set(ids), key=lambda x: (len(x), x))
        problems.append({"field": entity, "ids": uniq,
                         "problem": f"QuickBooks {ENTITY_LABELS[entity]} ids not in the imported directory: "
                                    f"{', '.join(uniq)} (import the directory again if they are new)"})
    if problems:
        raise InvalidInput("; ".join(p["problem"] for p in problems), details=problems)
    config: dict[str, Any] = {
        "employeeMapping": {str(e.crewflow_worker_id): e.qbo_employee_id for e in m.employee_mapping},
        "customerMapping": {str(c.crewflow_project_id): c.qbo_customer_id for c in m.customer_mapping},
        "costCodeMapping": {str(c.crewflow_cost_code_id): c.target for c in m.cost_code_mapping},
        "locationMapping": {str(loc.crewflow_project_id): loc.qbo_department_id for loc in m.location_mapping},
        "vendorMapping": {str(v.crewflow_worker_id): v.qbo_vendor_id for v in m.vendor_mapping},
        "hourlyRates": {"default": _num(m.hourly_rates.default) if m.hourly_rates else None,
                        "projects": {str(r.crewflow_project_id): _num(r.rate) for r in rates}},
        "costRates": {"default": _num(m.cost_rates.default) if m.cost_rates else None,
                      "workers": {str(r.crewflow_worker_id): _num(r.rate) for r in worker_costs}},
        "mapStartEnd": m.map_start_end,
    }
    return config, warnings


def _num(d: Decimal | None) -> float | int | None:
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() else float(d)


# ------------------------------------------------------------------------------------------ write
async def _changed(session: AsyncSession, queue: JobQueue, integ: Integration, p: MappingProfile, action: str,
                   actor: str, details: dict[str, Any]) -> int:
    # The outbox rows before the setup checklist's row, as a sync write-back takes them (jobs.side_effects):
    # the other way round, a save and a round that both touch them deadlock.
    requeued = await requeue_failed(session, queue, integ.company_id, reason="mapping") if p.active else 0
    await audit.record(session, integration_id=integ.id, company_id=integ.company_id, action=action,
                       status="success", actor=actor,
                       request_payload={"profileId": str(p.id), "profileName": p.name, "revision": p.revision,
                                        **details})
    await mark_step(session, integ.company_id, "mapping_saved")
    return requeued


async def _unique_name(session: AsyncSession, company_id: uuid.UUID, name: str, except_id: uuid.UUID | None) -> None:
    for other in await list_profiles(session, company_id):
        if other.id != except_id and other.name.casefold() == name.casefold():
            raise Conflict(f"A mapping profile named '{name}' already exists", code="duplicate_name")


def _shared_employees(workers: list[WorkerView], employee_mapping: dict[str, str]) -> dict[str, frozenset[str]]:
    """QBO employee id → the CrewFlow workers whose hours it would get, where that is more than one
    (a profile row wins over the link the directory import made)."""
    owners: dict[str, set[str]] = {}
    for w in workers:
        target = employee_mapping.get(str(w.id)) or w.external_ids.get("qbo")
        if target:
            owners.setdefault(str(target), set()).add(str(w.id))
    return {emp: frozenset(ws) for emp, ws in owners.items() if len(ws) > 1}


async def _check_shared(session: AsyncSession, company_id: uuid.UUID, old: dict[str, Any], new: dict[str, Any],
                        confirmed: bool) -> list[dict[str, Any]]:
    """The employees this save newly gives to two or more workers, or Conflict unless `confirmed`."""
    workers = await CoreGateway(session).list_workers(company_id)
    before = _shared_employees(workers, old.get("employeeMapping") or {})
    fresh = {emp: ws for emp, ws in _shared_employees(workers, new.get("employeeMapping") or {}).items()
             if before.get(emp) != ws}
    if not fresh:
        return []
    names = {str(w.id): w.name for w in workers}
    known = await directory.lookup(session, company_id, [("Employee", e) for e in fresh])
    shared: list[dict[str, Any]] = []
    for emp, ws in sorted(fresh.items()):
        rec = known.get(("Employee", emp))
        people = sorted(({"crewflowWorkerId": w, "name": names.get(w, w)} for w in ws), key=lambda x: x["name"])
        shared.append({"qboEmployeeId": emp, "employeeName": rec.name if rec else emp, "workers": people})
    if not confirmed:
        said = "; ".join(f"QuickBooks employee '{d['employeeName']}' would get the hours of "
                         + " and ".join(w["name"] for w in d["workers"]) for d in shared)
        raise Conflict(f"{said}. Two workers on one employee is usually a mistake: match one of them to someone "
                       "else, or save again with confirmDuplicates to keep it.", code="duplicate_employee",
                       details=shared)
    return shared


async def save_mapping(session: AsyncSession, queue: JobQueue, company_id: uuid.UUID, m: MappingConfigIn, *,
                       actor: str, confirm_duplicates: bool = False) -> MappingSaved:
    await require_company(session, company_id)
    await _one_writer(session, company_id)
    integ = await require_integration(session, company_id)
    if m.profile_id is not None:
        p = await get_profile(session, company_id, m.profile_id)
        if p is None:
            raise NotFound("Unknown mapping profile for this company")
    else:
        p = await get_active_profile(session, company_id)
    config, warnings = await validate_config(session, company_id, m)
    shared = await _check_shared(session, company_id, dict(p.config or {}) if p else {}, config, confirm_duplicates)
    if p is None:
        name = m.profile_name or DEFAULT_PROFILE_NAME
        await _unique_name(session, company_id, name, None)
        p = MappingProfile(id=uuid.uuid4(), company_id=company_id, name=name, active=True,
                           cost_code_field=m.cost_code_field, config=config, revision=1)
        session.add(p)
        await session.flush()
        await session.refresh(p)
        changed = True
    else:
        changed = p.config != config or p.cost_code_field != m.cost_code_field or \
            (m.profile_name is not None and m.profile_name != p.name)
        if m.profile_name is not None and m.profile_name != p.name:
            await _unique_name(session, company_id, m.profile_name, p.id)
            p.name = m.profile_name
        if changed:
            p.config, p.cost_code_field, p.revision = config, m.cost_code_field, p.revision + 1
            await session.flush()
    requeued = 0
    if changed:
        requeued = await _changed(session, queue, integ, p, "mapping_saved", actor,
                                  {"costCodeField": m.cost_code_field,
                                   "counts": {k: len(v) for k, v in config.items() if isinstance(v, dict)}})
    if shared:
        await audit.record(session, integration_id=integ.id, company_id=company_id,
                           action="mapping_duplicates_confirmed", status="success", actor=actor,
                           request_payload={"profileId": str(p.id), "revision": p.revision, "shared": shared})
    return MappingSaved(profile_id=p.id, revision=p.revision, changed=changed, requeued=requeued, warnings=warnings)


async def profiles(session: AsyncSession, company_id: uuid.UUID) -> list[ProfileOut]:
    await require_company(session, company_id)
    return [profile_out(p) for p in await list_profiles(session, company_id)]


async def create_profile(session: AsyncSession, body: ProfileCreate, *, actor: str) -> ProfileOut:
    await require_company(session, body.company_id)
    await _one_writer(session, body.company_id)
    integ = await require_integration(session, body.company_id)
    await _unique_name(session, body.company_id, body.profile_name, None)
    config: dict[str, Any] = {}
    ccf = body.cost_code_field
    if body.copy_from is not None:
        src = await get_profile(session, body.company_id, body.copy_from)
        if src is None:
            raise NotFound("copyFrom: unknown mapping profile for this company")
        config = dict(src.config or {})
        if src.cost_code_field != ccf:
            config.pop("costCodeMapping", None)  # item ids are not class ids
    first = await get_active_profile(session, body.company_id) is None
    p = MappingProfile(id=uuid.uuid4(), company_id=body.company_id, name=body.profile_name, active=first,
                       cost_code_field=ccf, config=config, revision=1)
    session.add(p)
    await session.flush()
    await session.refresh(p)
    await audit.record(session, integration_id=integ.id, company_id=body.company_id, action="mapping_profile_created",
                       status="success", actor=actor, request_payload={"profileId": str(p.id), "profileName": p.name})
    return profile_out(p)


async def activate_profile(session: AsyncSession, queue: JobQueue, company_id: uuid.UUID, profile_id: uuid.UUID, *,
                           actor: str) -> ProfileOut:
    await require_company(session, company_id)
    await _one_writer(session, company_id)
    integ = await require_integration(session, company_id)
    p = await get_profile(session, company_id, profile_id)
    if p is None:
        raise NotFound("Unknown mapping profile for this company")
    if not p.active:
        await session.execute(update(MappingProfile).where(MappingProfile.company_id == company_id,
                                                           MappingProfile.active.is_(True))
                              .values(active=False).execution_options(synchronize_session=False))
        await session.flush()
        p.active = True
        await session.flush()
        await session.refresh(p)
        await _changed(session, queue, integ, p, "mapping_profile_activated", actor, {})
    return profile_out(p)
