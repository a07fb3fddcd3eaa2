"""Names for the ids the console would otherwise show: the company (header), workers, projects and
timecards ("worker · project · date · hours", the date in the company's time zone), timecards found by
name (the audit log's filter), and the timecards last synced with a link to their record in QuickBooks.
Read-only."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from qbo_integration.api.deps import CompanyReader, SessionDep, SettingsDep
from qbo_integration.api.inputs import STORABLE
from qbo_integration.connections.service import get_integration
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.core_platform.views import CompanyView, TimecardView
from qbo_integration.errors import NotFound
from qbo_integration.health.links import qbo_link

router = APIRouter(tags=["console"])

RECENTLY_SYNCED = 10
MAX_IDS = 200


def _iso(t: datetime | None) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t else None


def _hours(h: Any) -> str:
    return f"{float(h):g} h"


def timecard_words(tc: TimecardView, zone: ZoneInfo) -> dict[str, Any]:
    day = tc.clock_in.astimezone(zone).date().isoformat()
    return {"timecardId": str(tc.id), "worker": tc.worker.name, "project": tc.project.name, "date": day,
            "hours": float(tc.total_hours),
            "label": f"{tc.worker.name} · {tc.project.name} · {day} · {_hours(tc.total_hours)}"}


async def _company(gw: CoreGateway, company_id: uuid.UUID) -> CompanyView:
    company = await gw.get_company(company_id)
    if company is None:
        raise NotFound(f"Company {company_id} not found")
    return company


@router.get("/console/overview", summary="The company's name and time zone, and its timecards last synced")
async def overview(reader: CompanyReader, session: SessionDep,
                   settings: SettingsDep) -> dict[str, Any]:
    gw = CoreGateway(session)
    company = await _company(gw, reader.company_id)
    zone = company.zone
    integ = await get_integration(session, reader.company_id)
    recent = await gw.recently_synced(reader.company_id, RECENTLY_SYNCED)
    cards = await gw.get_timecards([r[0] for r in recent])
    synced = [{**timecard_words(cards[tid], zone), "qboId": cards[tid].qbo_id, "syncedAt": _iso(at),
               "qboUrl": qbo_link(settings, integ.realm_id if integ else None, str(cards[tid].qbo_id))}
              for tid, at in recent if tid in cards]
    return {"company": {"id": str(company.id), "name": company.name, "timezone": company.timezone},
            "recentlySynced": synced}


@router.get("/console/names", summary="Names for worker, project and timecard ids (at most 200 of each)")
async def names(reader: CompanyReader, session: SessionDep,
                timecard_id: Annotated[list[uuid.UUID], Query(alias="timecardId", max_length=MAX_IDS)] = [],  # noqa: B006
                worker_id: Annotated[list[uuid.UUID], Query(alias="workerId", max_length=MAX_IDS)] = [],  # noqa: B006
                project_id: Annotated[list[uuid.UUID], Query(alias="projectId", max_length=MAX_IDS)] = [],  # noqa: B006
                ) -> dict[str, Any]:
    gw = CoreGateway(session)
    zone = (await _company(gw, reader.company_id)).zone
    cards = await gw.get_timecards(sorted(set(timecard_id)))
    workers = {str(w.id): w.name for w in await gw.list_workers(reader.company_id)} if worker_id else {}
    projects = {str(p.id): p.name for p in await gw.list_projects(reader.company_id)} if project_id else {}
    return {"timecards": {str(k): timecard_words(v, zone) for k, v in cards.items() if v.company_id == reader.company_id},
            "workers": {str(i): workers[str(i)] for i in worker_id if str(i) in workers},
            "projects": {str(i): projects[str(i)] for i in project_id if str(i) in projects}}


# A label typed back ("Rita Rivets · Depot Roof · 2026-11-02 · 7.5 h"): its hours are no search words.
_NOT_WORDS = re.compile(r"^(·|h|\d+(\.\d+)?)$")


@router.get("/console/timecards", summary="The company's timecards whose worker, project or date fit the words "
            "(at most 200, the latest first)")
async def find_timecards(reader: CompanyReader, session: SessionDep,
                         q: Annotated[str, Query(max_length=200), STORABLE] = "") -> dict[str, Any]:
    gw = CoreGateway(session)
    company = await _company(gw, reader.company_id)
    words = " ".join(w for w in re.split(r"[\s·]+", q) if w and not _NOT_WORDS.match(w))
    ids = await gw.find_timecard_ids(reader.company_id, words, company.zone.key, MAX_IDS + 1)
    cards = await gw.get_timecards(ids[:MAX_IDS])
    return {"timecards": [{"id": str(i), "label": timecard_words(cards[i], company.zone)["label"]}
                          for i in ids[:MAX_IDS] if i in cards],
            "more": len(ids) > MAX_IDS}
