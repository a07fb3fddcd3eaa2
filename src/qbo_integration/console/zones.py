"""The two companies' time zones: CrewFlow's (Core's company row) and QuickBooks' (CompanyInfo.DefaultTimeZone),
with the latest approved timecard's clock-in as a sample. QuickBooks shows clock times in its own zone, so
when the zones differ a 7:15 clock-in reads 6:15 there; the mapping page and the dashboard say so."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Request

from qbo_integration.api.deps import CompanyReader, RedisDep, SessionDep
from qbo_integration.connections.service import get_integration
from qbo_integration.core_platform.gateway import CoreGateway, require_company
from qbo_integration.qbo import QboApi, QboError

router = APIRouter(tags=["console"])
ZONE_TTL_SECONDS = 3600  # a company changes its zone rarely; one companyinfo call an hour at most
QBO_WAIT_SECONDS = 8.0  # the page shows without the note rather than wait on a slow QuickBooks


def _key(realm_id: str) -> str:
    return f"qboi:console:qbo-zone:{realm_id}"


async def _qbo_zone(qbo: QboApi, redis: Any, company_id: uuid.UUID, realm_id: str) -> str | None:
    kept = await redis.get(_key(realm_id))
    if kept is not None:
        return (kept.decode() if isinstance(kept, bytes) else kept) or None
    try:
        info = await asyncio.wait_for(qbo.company(company_id, realm_id).company_info(), QBO_WAIT_SECONDS)
    except (QboError, TimeoutError):
        return None
    zone = (info.model_extra or {}).get("DefaultTimeZone") or ""
    await redis.set(_key(realm_id), zone, ex=ZONE_TTL_SECONDS)
    return zone or None


@router.get("/console/zones", summary="CrewFlow's and QuickBooks' company time zones, with a sample clock-in")
async def zones(reader: CompanyReader, session: SessionDep, redis: RedisDep,
                request: Request) -> dict[str, Any]:
    company = await require_company(session, reader.company_id)
    integ = await get_integration(session, reader.company_id)
    realm_id = integ.realm_id if integ is not None and integ.connection_status == "connected" else None
    gw = CoreGateway(session)
    recent = await gw.recent_approved_ids(reader.company_id, 1)
    card = (await gw.get_timecards(recent)).get(recent[0]) if recent else None
    await session.commit()  # reads only: no transaction stays open across the QuickBooks call
    qbo_zone = await _qbo_zone(request.app.state.services.qbo, redis, reader.company_id, realm_id) if realm_id else None
    sample = None if card is None else {
        "timecardId": str(card.id), "worker": card.worker.name,
        "clockIn": card.clock_in.isoformat().replace("+00:00", "Z")}
    return {"crewflow": company.timezone, "quickbooks": qbo_zone, "sample": sample}
