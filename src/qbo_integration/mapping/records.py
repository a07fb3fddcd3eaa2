"""What GET /mapping/records answers (the route is in mapping/endpoints.py): everything the mapping
wizard lists, read-only.

Both sides in full (the other mapping routes give only unmapped records, ids, or three samples):
CrewFlow workers, projects and cost codes with their names and any QBO link made by the directory
import, the imported QBO directory (employees, vendors, customers, service items, classes, locations), and the
company's recent approved timecards to try a mapping on.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.directory import service as directory
from qbo_integration.errors import NotFound

RECENT_TIMECARDS = 25
QBO_ENTITIES = ("Employee", "Vendor", "Customer", "Item", "Class", "Department")


async def wizard_records(gw: CoreGateway, entries: list[directory.DirEntry], company_id: uuid.UUID) -> dict[str, Any]:
    workers = [{"id": str(w.id), "name": w.name, "email": w.email, "active": w.active,
                "qboId": w.external_ids.get("qbo")} for w in await gw.list_workers(company_id)]
    projects = [{"id": str(p.id), "name": p.name, "status": p.status, "qboId": p.external_ids.get("qbo")}
                for p in await gw.list_projects(company_id)]
    cost_codes = [{"id": str(c.id), "code": c.code, "name": c.name, "active": c.active}
                  for c in await gw.list_cost_codes(company_id)]
    qbo: dict[str, list[dict[str, Any]]] = {e: [] for e in QBO_ENTITIES}
    for e in entries:
        if e.entity_type == "Item" and e.item_type not in (None, "Service"):
            continue
        qbo.setdefault(e.entity_type, []).append(
            {"qboId": e.qbo_id, "name": e.name, "email": e.email, "active": e.usable, "state": e.state_words,
             "parentQboId": e.parent_qbo_id})
    recent = await gw.recent_approved_ids(company_id, RECENT_TIMECARDS)
    cards = await gw.get_timecards(recent)
    timecards = [{"id": str(tc.id), "worker": tc.worker.name, "project": tc.project.name,
                  "costCode": f"{tc.cost_code.code} {tc.cost_code.name}" if tc.cost_code else None,
                  "clockIn": tc.clock_in.isoformat(), "hours": float(tc.total_hours), "syncStatus": tc.sync_status}
                 for tc in (cards[t] for t in recent if t in cards)]
    return {"companyId": str(company_id), "workers": workers, "projects": projects, "costCodes": cost_codes,
            "qbo": qbo, "timecards": timecards}


async def mapping_records(session: AsyncSession, company_id: uuid.UUID) -> dict[str, Any]:
    gw = CoreGateway(session)
    if await gw.get_company(company_id) is None:
        raise NotFound(f"Company {company_id} not found")
    entries = await directory.list_entries(session, company_id)
    return await wizard_records(gw, entries, company_id)
