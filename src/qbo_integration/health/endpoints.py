"""Route: a company's integration health (status rules in docs/operations.md), cached per process."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from qbo_integration.api.deps import CompanyReader, SessionDep, SettingsDep
from qbo_integration.clock import utc_now
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.health import service as health
from qbo_integration.health.links import qbo_link
from qbo_integration.monitoring.schemas import CompanyQuery
from qbo_integration.sync import waits
from qbo_integration.sync.story import service as story

MAX_TIMECARDS = 200

router = APIRouter(tags=["monitoring"])


def _qbo(request: Request) -> Any:
    services = getattr(request.app.state, "services", None)
    return getattr(services, "qbo", None)


def _signals(request: Request) -> Any:
    services = getattr(request.app.state, "services", None)
    return getattr(services, "health_signals", ())


def _json(answer: dict[str, Any]) -> bytes:
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()


@router.get("/health", summary="A company's integration health (status rules in docs/operations.md)",
            response_model=dict[str, Any])
async def company_health(q: Annotated[CompanyQuery, Query()], request: Request, reader: CompanyReader,
                         settings: SettingsDep) -> Response:
    cache: health.HealthCache[bytes] | None = getattr(request.app.state, "health_cache", None)
    if cache is None:
        cache = request.app.state.health_cache = health.HealthCache(settings.health_cache_seconds)

    async def compute() -> bytes:  # kept encoded: a cached answer is sent as it is
        # Read-only, so no SessionDep: a cache hit opens no session at all (half its cost on a busy machine).
        async with request.app.state.sessionmaker() as session:
            answer = await health.company_health(session, _qbo(request), q.company_id,
                                                 deadline=timedelta(hours=settings.setup_deadline_hours),
                                                 signals=_signals(request),
                                                 sweep_minutes=settings.sync_sweep_minutes)
        return _json(answer)

    return Response(await cache.get(q.company_id, compute), media_type="application/json")


@router.get("/health/timecards",
            summary="What each of these timecards waits for now, and until when, in words (sync/waits.py)",
            response_model=dict[str, Any])
async def timecard_states(company_id: Annotated[uuid.UUID, Query(alias="companyId")],
                          request: Request, reader: CompanyReader, session: SessionDep, settings: SettingsDep,
                          timecard_ids: Annotated[list[uuid.UUID] | None, Query(
                              alias="timecardId", max_length=MAX_TIMECARDS)] = None) -> dict[str, Any]:
    """`{timecards: {id: {state, message, reason, needsYou, since, until, qboUrl}}}`: the timecard's sentence (the one
    its own page shows, sync/story/explain.py) and the reason health counts it under (sync/waits.py; null
    with no sync record). Another company's or an unknown timecard is absent."""
    now = utc_now()
    ids = list(dict.fromkeys(timecard_ids or []))
    ctx = await waits.read_context(session, _qbo(request), company_id, now, sweep_minutes=settings.sync_sweep_minutes)
    counted = await waits.timecard_waits(session, ctx, company_id, ids)
    mine = await CoreGateway(session).timecards_belong_to(company_id, ids) | set(counted)  # (deleted in Core: a row)
    said = await story.explain_many(session, _qbo(request), company_id, [t for t in ids if t in mine], now=now)
    out: dict[str, Any] = {}
    for tid, explained in said.items():
        wait = counted.get(tid)
        out[str(tid)] = {"state": str(explained.state), "message": explained.sentence,
                         "reason": str(wait.reason) if wait else None,
                         "needsYou": wait.needs_you if wait else explained.state == "needs_you",
                         "since": wait.as_dict()["since"] if wait else None,
                         "until": wait.as_dict()["until"] if wait else explained.as_dict()["until"],
                         "qboUrl": qbo_link(settings, wait.realm_id, wait.qbo_id) if wait and wait.qbo_id else None}
    return {"timecards": out}
