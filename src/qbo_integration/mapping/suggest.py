"""Suggestions for unmapped CrewFlow records: the likeliest QuickBooks records for every worker, project
and cost code without a mapping, scored by the matching rule (directory.matching, which the directory
import uses too). A QBO record already linked to another CrewFlow record keeps its score but carries
`linked_to`, which the console shows as a warning and bulk accept skips."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.directory import service as directory
from qbo_integration.directory.matching import (
    BULK_ACCEPT,
    MAX_SUGGESTIONS,
    Suggestion,
    hold_shared,
    pool,
    suggest,
)
from qbo_integration.mapping.profiles import active_config


def _s(s: Suggestion, id_key: str) -> dict[str, Any]:
    return {id_key: s.qbo_id, "name": s.name, "email": s.email, "confidence": s.confidence, "reason": s.reason,
            "linkedTo": s.linked_to}


def _linked(rows: list[list[Suggestion]], links: dict[str, str]) -> list[list[Suggestion]]:
    return [[replace(s, linked_to=links.get(s.qbo_id)) for s in r] for r in rows]


async def suggestions(session: AsyncSession, company_id: uuid.UUID) -> dict[str, Any]:
    """For every worker / project / cost code without a mapping: the likeliest QBO records."""
    cfg = await active_config(session, company_id)
    gw = CoreGateway(session)
    usable = [e for e in await directory.list_entries(session, company_id) if e.usable]
    emps = pool([e for e in usable if e.entity_type == "Employee"])
    custs = pool([e for e in usable if e.entity_type == "Customer"])
    cc_entity = cfg.cost_code_entity
    cc_targets = pool([e for e in usable if e.entity_type == cc_entity
                       and (cc_entity != "Item" or e.item_type in (None, "Service"))])

    all_workers = await gw.list_workers(company_id)
    emp_links = {str(cfg.employees.get(str(w.id)) or w.external_ids.get("qbo")): w.name for w in all_workers
                 if cfg.employees.get(str(w.id)) or w.external_ids.get("qbo")}
    open_workers = [w for w in all_workers if str(w.id) not in cfg.employees and str(w.id) not in cfg.vendors
                    and not w.external_ids.get("qbo")]  # a subcontractor (vendor) needs no employee
    w_rows = _linked(hold_shared([suggest(w.name, w.email, emps) for w in open_workers]), emp_links)
    workers = [{"crewflowWorkerId": str(w.id), "name": w.name, "email": w.email,
                "suggestions": [_s(s, "qboEmployeeId") for s in r]} for w, r in zip(open_workers, w_rows, strict=True)]

    all_projects = await gw.list_projects(company_id)
    cust_links = {str(cfg.customers.get(str(p.id)) or p.external_ids.get("qbo")): p.name for p in all_projects
                  if cfg.customers.get(str(p.id)) or p.external_ids.get("qbo")}
    open_projects = [p for p in all_projects if str(p.id) not in cfg.customers and not p.external_ids.get("qbo")]
    p_rows = _linked(hold_shared([suggest(p.name, None, custs) for p in open_projects]), cust_links)
    projects = [{"crewflowProjectId": str(p.id), "name": p.name,
                 "suggestions": [_s(s, "qboCustomerId") for s in r]} for p, r in zip(open_projects, p_rows, strict=True)]

    id_key = "qboClassId" if cc_entity == "Class" else "qboServiceItemId"
    cost_codes = []
    for c in await gw.list_cost_codes(company_id):
        if str(c.id) in cfg.cost_codes:
            continue
        by_name = suggest(c.name, None, cc_targets)
        by_code = suggest(c.code, None, cc_targets) if c.code != c.name else []
        merged = {s.qbo_id: s for s in sorted(by_code + by_name, key=lambda s: s.confidence)}
        best = sorted(merged.values(), key=lambda s: -s.confidence)[:MAX_SUGGESTIONS]
        cost_codes.append({"crewflowCostCodeId": str(c.id), "code": c.code, "name": c.name,
                           "suggestions": [_s(s, id_key) for s in best]})
    return {"costCodeField": cfg.cost_code_field, "bulkAcceptAt": BULK_ACCEPT, "workers": workers,
            "projects": projects, "costCodes": cost_codes}
