"""Routes: health, audit log (JSON and CSV), setup checklist, breaker reset."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from qbo_integration.api.deps import PrincipalDep, SessionDep, SettingsDep, company_access
from qbo_integration.connections.models import Integration
from qbo_integration.core_platform.gateway import require_company
from qbo_integration.errors import NotFound
from qbo_integration.monitoring import audit, audit_query, health, setup
from qbo_integration.monitoring.schemas import AuditLogFilters, AuditLogQuery, CompanyBody, CompanyQuery

router = APIRouter(tags=["monitoring"])


def _qbo(request: Request) -> Any:
    services = getattr(request.app.state, "services", None)
    return getattr(services, "qbo", None)


def _signals(request: Request) -> Any:
    services = getattr(request.app.state, "services", None)
    return getattr(services, "health_signals", ())


def _filter(q: AuditLogFilters) -> audit_query.AuditFilter:
    return audit_query.AuditFilter(company_id=q.company_id, start=q.start_date, end=q.end_date, status=q.status,
                                   action=q.action, worker_id=q.worker_id, project_id=q.project_id,
                                   timecard_id=q.timecard_id)


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
                                                 signals=_signals(request))
        return _json(answer)

    return Response(await cache.get(q.company_id, compute), media_type="application/json")


@router.get("/audit-log", summary="Audit log, newest first, filtered and paginated (limit ≤ 200)")
async def audit_log(q: Annotated[AuditLogQuery, Query()], principal: PrincipalDep,
                    session: SessionDep) -> dict[str, Any]:
    company_access(principal, q.company_id)
    company = await require_company(session, q.company_id)
    return await audit_query.page(session, _filter(q), company.timezone, page_no=q.page, limit=q.limit)


@router.get("/audit-log.csv", summary="The audit log as CSV, same filters (streamed)",
            response_class=StreamingResponse)
async def audit_log_csv(q: Annotated[AuditLogFilters, Query()], request: Request, principal: PrincipalDep,
                        session: SessionDep) -> StreamingResponse:
    company_access(principal, q.company_id)
    company = await require_company(session, q.company_id)
    name = f"quickbooks-audit-log-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.csv"
    return StreamingResponse(
        audit_query.stream_csv(request.app.state.sessionmaker, _filter(q), company.timezone),
        media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/setup", summary="The 48-hour setup checklist with timestamps and the deadline")
async def setup_checklist(q: Annotated[CompanyQuery, Query()], principal: PrincipalDep, session: SessionDep,
                          settings: SettingsDep) -> dict[str, Any]:
    company_access(principal, q.company_id)
    await require_company(session, q.company_id)
    s = await setup.get_summary(session, q.company_id, deadline=timedelta(hours=settings.setup_deadline_hours))

    def iso(at: datetime | None) -> str | None:
        return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None

    return {
        "companyId": str(q.company_id), "complete": s.complete, "startedAt": iso(s.started_at),
        "completedAt": iso(s.completed_at), "elapsedSeconds": round(s.elapsed_seconds),
        "deadlineAt": iso(s.deadline_at),
        "remainingSeconds": round(s.remaining_seconds) if s.remaining_seconds is not None else None,
        "overdue": bool(s.remaining_seconds is not None and s.remaining_seconds < 0),
        "steps": [{"step": st["step"], "label": st["label"], "done": st["doneAt"] is not None,
                   "doneAt": iso(st["doneAt"])} for st in s.steps],
        "alertThresholdsHours": settings.setup_alert_hours, "alertsSent": s.alerts_sent,
    }


@router.post("/breaker/reset", summary="Close a company's circuit breaker now (admin)")
async def breaker_reset(body: CompanyBody, request: Request, principal: PrincipalDep,
                        session: SessionDep) -> dict[str, Any]:
    company_access(principal, body.company_id, admin=True)
    await require_company(session, body.company_id)
    integration_id: uuid.UUID | None = (await session.execute(
        select(Integration.id).where(Integration.company_id == body.company_id))).scalar_one_or_none()
    if integration_id is None:
        raise NotFound("This company has no QuickBooks integration")
    qbo = _qbo(request)
    before = await qbo.breaker_state(body.company_id)
    await qbo.reset_breaker(body.company_id)
    after = await qbo.breaker_state(body.company_id)
    await audit.record(session, integration_id=integration_id, company_id=body.company_id, action="breaker_reset",
                 status="success", actor=principal.sub, request_payload={"previousState": before.state},
                 response_payload=after.to_dict())
    return {"breaker": {"state": after.state, "failures": after.failures, "previousState": before.state}}
