"""Route: a company's integration health (status rules in docs/operations.md), cached per process."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from qbo_integration.api.deps import PrincipalDep, SessionDep, SettingsDep, company_access
from qbo_integration.health import service as health
from qbo_integration.monitoring.schemas import CompanyQuery
from qbo_integration.sync import waits

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
async def company_health(q: Annotated[CompanyQuery, Query()], request: Request, principal: PrincipalDep,
                         settings: SettingsDep) -> Response:
    company_access(principal, q.company_id)
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
                          timecard_ids: Annotated[list[uuid.UUID], Query(alias="timecardId", min_length=1,
                                                                          max_length=MAX_TIMECARDS)],
                          request: Request, principal: PrincipalDep, session: SessionDep,
                          settings: SettingsDep) -> dict[str, Any]:
    """`{timecards: {id: {reason, needsYou, since, until, message}}}`; a timecard with no sync record (never
    approved, another company's, unknown) is absent."""
    company_access(principal, company_id)
    ctx = await waits.read_context(session, _qbo(request), company_id, datetime.now(UTC),
                                   sweep_minutes=settings.sync_sweep_minutes)
    found = await waits.timecard_waits(session, ctx, company_id, list(dict.fromkeys(timecard_ids)))
    return {"timecards": {str(k): v.as_dict() for k, v in found.items()}}
