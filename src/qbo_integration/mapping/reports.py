"""Read-only reports for the mapping pages: the validation report, wizard samples and orphans."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.directory_gateway import DirectoryGateway
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.directory import service as directory
from qbo_integration.directory.service import ENTITY_LABELS, DirEntry
from qbo_integration.mapping.payload import inactive_error, unmapped_project, unmapped_worker
from qbo_integration.mapping.profiles import active_config, profile_targets
from qbo_integration.mapping.timeactivity import format_time_activity

SAMPLE_SIZE = 3


async def validation(session: AsyncSession, company_id: uuid.UUID) -> dict[str, Any]:
    """Every worker/project/cost code with approved-but-unsynced timecards that lacks a mapping, and
    every mapped QBO record that is inactive, deleted or unknown to the imported directory."""
    cfg = await active_config(session, company_id)
    gw = CoreGateway(session)
    workers = {w.id: w for w in await gw.list_workers(company_id)}
    projects = {p.id: p for p in await gw.list_projects(company_id)}
    cost_codes = {c.id: c for c in await gw.list_cost_codes(company_id)}
    pending = await DirectoryGateway(session).unsynced_refs(company_id)
    unmapped: list[dict[str, Any]] = []
    for wid, n in pending.workers.items():
        w = workers.get(wid)
        if w and not (cfg.vendors.get(str(wid)) or cfg.employees.get(str(wid)) or w.external_ids.get("qbo")):
            e = unmapped_worker(w.name)
            unmapped.append({"type": "worker", "crewflowId": str(wid), "name": w.name, "timecards": n,
                             "field": e.field, "message": e.message, "fix": e.fix})
    for pid, n in pending.projects.items():
        p = projects.get(pid)
        if p and not (cfg.customers.get(str(pid)) or p.external_ids.get("qbo")):
            e = unmapped_project(p.name)
            unmapped.append({"type": "project", "crewflowId": str(pid), "name": p.name, "timecards": n,
                             "field": e.field, "message": e.message, "fix": e.fix})
    if cfg.exists:
        label = ENTITY_LABELS[cfg.cost_code_entity]
        for cid, n in pending.cost_codes.items():
            c = cost_codes.get(cid)
            if c and not cfg.cost_codes.get(str(cid)):
                name = f"{c.code} {c.name}".strip()
                unmapped.append({"type": "costCode", "crewflowId": str(cid), "name": name, "timecards": n,
                                 "field": cfg.cost_code_ref_field,
                                 "message": f"Cost code '{name}' is not mapped to a QuickBooks {label}",
                                 "fix": f"Map '{name}' to a {label} in Mapping → Cost codes"})
    # Every mapping in force: (type, crewflow id, crewflow name, entity, qbo id)
    mapped: list[tuple[str, str, str, str, str]] = []
    for w in workers.values():
        if v := cfg.vendors.get(str(w.id)):
            mapped.append(("worker", str(w.id), w.name, "Vendor", v))
        elif q := cfg.employees.get(str(w.id)) or w.external_ids.get("qbo"):
            mapped.append(("worker", str(w.id), w.name, "Employee", str(q)))
    for p in projects.values():
        q = cfg.customers.get(str(p.id)) or p.external_ids.get("qbo")
        if q:
            mapped.append(("project", str(p.id), p.name, "Customer", str(q)))
        if loc := cfg.locations.get(str(p.id)):
            mapped.append(("project", str(p.id), p.name, "Department", loc))
    for cid_s, q in cfg.cost_codes.items():
        c = cost_codes.get(uuid.UUID(cid_s))
        if c:
            mapped.append(("costCode", cid_s, f"{c.code} {c.name}".strip(), cfg.cost_code_entity, q))
    known = await directory.lookup(session, company_id, [(m[3], m[4]) for m in mapped])
    have_directory = bool(await directory.list_entries(session, company_id, limit=1))
    inactive: list[dict[str, Any]] = []
    for kind, cf_id, cf_name, entity, qbo_id in mapped:
        rec = known.get((entity, qbo_id))
        if rec is not None and not rec.usable:
            err = inactive_error(entity, qbo_id, rec, cf_name)
            inactive.append({"type": kind, "crewflowId": cf_id, "name": cf_name, "qboEntity": entity, "qboId": qbo_id,
                             "qboName": rec.name, "state": "deleted" if rec.deleted else "inactive", **err.as_dict()})
        elif rec is None and have_directory:
            label = ENTITY_LABELS[entity]
            inactive.append({"type": kind, "crewflowId": cf_id, "name": cf_name, "qboEntity": entity, "qboId": qbo_id,
                             "qboName": None, "state": "unknown", "field": _field(entity), "kind": "mapping",
                             "message": f"'{cf_name}' is mapped to QuickBooks {label} Id {qbo_id}, which the "
                                        "imported directory does not have",
                             "fix": "Import the directory again; if it is still missing, map "
                                    f"'{cf_name}' to another {label}"})
    return {"valid": not unmapped and not inactive, "profileId": str(cfg.profile_id) if cfg.profile_id else None,
            "profileRevision": cfg.revision, "unmapped": unmapped, "inactive": inactive}


def _field(entity: str) -> str:
    return {"Employee": "EmployeeRef", "Vendor": "VendorRef", "Customer": "CustomerRef", "Item": "ItemRef", "Class": "ClassRef",
            "Department": "DepartmentRef"}[entity]


def _d(e: DirEntry) -> dict[str, Any]:
    return {"qboId": e.qbo_id, "name": e.name, "email": e.email, "active": e.active}


async def samples(session: AsyncSession, company_id: uuid.UUID) -> dict[str, Any]:
    """A few records from both sides of every field of the wizard."""
    cfg = await active_config(session, company_id)
    gw = CoreGateway(session)
    company = await gw.get_company(company_id)
    entries = [e for e in await directory.list_entries(session, company_id) if e.usable]

    def qbo(entity: str) -> list[dict[str, Any]]:
        return [_d(e) for e in entries if e.entity_type == entity
                and (entity != "Item" or e.item_type in (None, "Service"))][:SAMPLE_SIZE]

    workers = (await gw.list_workers(company_id))[:SAMPLE_SIZE]
    projects = (await gw.list_projects(company_id))[:SAMPLE_SIZE]
    codes = (await gw.list_cost_codes(company_id))[:SAMPLE_SIZE]
    fields: list[dict[str, Any]] = [
        {"crewflowField": "Worker", "qboField": "Employee", "required": True,
         "crewflow": [{"id": str(w.id), "name": w.name, "email": w.email} for w in workers], "qbo": qbo("Employee")},
        {"crewflowField": "Project", "qboField": "Customer", "required": True,
         "crewflow": [{"id": str(p.id), "name": p.name} for p in projects], "qbo": qbo("Customer")},
        {"crewflowField": "Cost code", "qboField": cfg.cost_code_field, "required": False,
         "options": ["ServiceItem", "Class"],
         "crewflow": [{"id": str(c.id), "code": c.code, "name": c.name} for c in codes],
         "qbo": qbo(cfg.cost_code_entity)},
        {"crewflowField": "Project", "qboField": "Location", "required": False,
         "crewflow": [{"id": str(p.id), "name": p.name} for p in projects], "qbo": qbo("Department")},
    ]
    recent = await gw.recent_approved_ids(company_id, SAMPLE_SIZE)
    found = await gw.get_timecards(recent)
    cards = [found[t] for t in recent if t in found]
    pairs = [("Clock in", "StartTime"), ("Clock out", "EndTime"), ("Clock in (date)", "TxnDate"),
             ("Break", "BreakMinutes"), ("Billable", "BillableStatus"), ("Notes", "Description")]
    formatted = []
    for tc in cards:
        body, _ = format_time_activity(tc, timezone=company.timezone if company else "UTC",
                                       employee_ref={"value": "0"}, customer_ref={"value": "0"},
                                       hourly_rate=0)  # placeholders: the samples show times, not refs
        formatted.append((tc, body or {}))
    raw = {"Clock in": lambda t: t.clock_in.isoformat(), "Clock out": lambda t: t.clock_out.isoformat(),
           "Clock in (date)": lambda t: t.clock_in.isoformat(), "Break": lambda t: t.break_minutes,
           "Billable": lambda t: t.billable, "Notes": lambda t: t.notes}
    for cf, qf in pairs:
        fields.append({"crewflowField": cf, "qboField": qf, "required": qf in ("StartTime", "EndTime", "TxnDate"),
                       "crewflow": [raw[cf](tc) for tc, _ in formatted],
                       "qbo": [body.get(qf) for _, body in formatted]})
    return {"costCodeField": cfg.cost_code_field, "mapStartEnd": cfg.map_start_end, "fields": fields}


async def orphans(session: AsyncSession, company_id: uuid.UUID) -> dict[str, Any]:
    """QBO records that went inactive, were deleted or vanished while CrewFlow still points at them."""
    gdir = DirectoryGateway(session)
    users: dict[str, list[dict[str, str]]] = {}
    for u in await gdir.users(company_id):
        if u.external_ids.get("qbo"):
            users.setdefault(str(u.external_ids["qbo"]), []).append({"type": "worker", "id": str(u.id), "name": u.name})
    projects: dict[str, list[dict[str, str]]] = {}
    for p in await gdir.projects(company_id):
        if p.external_ids.get("qbo"):
            projects.setdefault(str(p.external_ids["qbo"]), []).append(
                {"type": "project", "id": str(p.id), "name": p.name})
    targets = await profile_targets(session, company_id)
    out = []
    for e in await directory.list_entries(session, company_id):
        if e.usable and not e.orphaned:
            continue
        linked = (users.get(e.qbo_id, []) if e.entity_type == "Employee" else
                  projects.get(e.qbo_id, []) if e.entity_type == "Customer" else [])
        in_profile = (e.entity_type, e.qbo_id) in targets
        if not linked and not in_profile:
            continue
        out.append({"entityType": e.entity_type, "qboId": e.qbo_id, "name": e.name,
                    "state": "deleted" if e.deleted else "inactive" if not e.active else "orphaned",
                    "linkedTo": linked, "mappedInProfile": in_profile,
                    "message": f"QuickBooks {ENTITY_LABELS[e.entity_type]} '{e.name}' {e.state_words} but CrewFlow "
                               "still uses it",
                    "fix": "Reactivate it in QuickBooks, or remap or archive the CrewFlow record"
                           + (". Active in QuickBooks already? Press Import again in Mapping to refresh our copy"
                              if not e.active and not e.deleted else "")})
    return {"orphans": out, "count": len(out)}
