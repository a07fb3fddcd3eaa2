"""Routes: audit log (JSON and CSV), setup checklist. (Health is health/endpoints.py; the breaker reset
is connections/endpoints.py.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.api.deps import CompanyReader, SessionDep, SettingsDep
from qbo_integration.clock import utc_now
from qbo_integration.core_platform.gateway import require_company
from qbo_integration.monitoring import audit_query, setup
from qbo_integration.monitoring.schemas import AuditLogFilters, AuditLogQuery, CompanyQuery

router = APIRouter(tags=["monitoring"])


def _filter(q: AuditLogFilters) -> audit_query.AuditFilter:
    return audit_query.AuditFilter(company_id=q.company_id, start=q.start_date, end=q.end_date, status=q.status,
                                   action=q.action, worker_id=q.worker_id, project_id=q.project_id,
                                   timecard_id=q.timecard_id)


@router.get("/audit-log", summary="Audit log, newest first, filtered and paginated (limit ≤ 200)")
async def audit_log(q: Annotated[AuditLogQuery, Query()], request: Request, reader: CompanyReader,
                    session: SessionDep) -> dict[str, Any]:
    company = await require_company(session, q.company_id)
    answer = await audit_query.page(session, _filter(q), company.timezone, page_no=q.page, limit=q.limit,
                                    payloads=reader.is_admin)
    await _with_sync_states(session, request, q.company_id, answer["logs"])
    return answer


async def _with_sync_states(session: AsyncSession, request: Request, company_id: uuid.UUID,
                            logs: list[dict[str, Any]]) -> None:
    """Each row naming a timecard gets its sync state now (`sync`: the same words as everywhere), through the
    function the services hand over (Services.explain_timecards: monitoring imports nothing of sync)."""
    services = getattr(request.app.state, "services", None)
    explain = getattr(services, "explain_timecards", None)
    ids = list(dict.fromkeys(uuid.UUID(e["timecardId"]) for e in logs if e.get("timecardId")))
    if explain is None or not ids:
        return
    said = await explain(session, getattr(services, "qbo", None), company_id, ids)
    for e in logs:
        if e.get("timecardId"):
            e["sync"] = said[uuid.UUID(e["timecardId"])].as_dict()


@router.get("/audit-log.csv", summary="The audit log as CSV, same filters (streamed)",
            response_class=StreamingResponse)
async def audit_log_csv(q: Annotated[AuditLogFilters, Query()], request: Request, reader: CompanyReader,
                        session: SessionDep) -> StreamingResponse:
    company = await require_company(session, q.company_id)
    name = f"quickbooks-audit-log-{utc_now():%Y%m%dT%H%M%SZ}.csv"
    return StreamingResponse(
        audit_query.stream_csv(request.app.state.sessionmaker, _filter(q), company.timezone),
        media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/setup", summary="The 48-hour setup checklist with timestamps and the deadline")
async def setup_checklist(q: Annotated[CompanyQuery, Query()], reader: CompanyReader, session: SessionDep,
                          settings: SettingsDep) -> dict[str, Any]:
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
