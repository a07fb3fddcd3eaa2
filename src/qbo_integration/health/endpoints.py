"""Route: a company's integration health (status rules in docs/operations.md), cached per process."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from qbo_integration.api.deps import CompanyReader, SettingsDep
from qbo_integration.health import service as health
from qbo_integration.monitoring.schemas import CompanyQuery

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
                                                 signals=_signals(request))
        return _json(answer)

    return Response(await cache.get(q.company_id, compute), media_type="application/json")
