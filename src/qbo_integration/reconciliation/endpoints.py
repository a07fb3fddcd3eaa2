"""Reconciliation routes: run one now, read a run (JSON or CSV); drift findings and what the admin does."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from qbo_integration.api.deps import AdminOf, CompanyAdmin, CompanyReader, QueueDep, SessionDep, SettingsDep
from qbo_integration.csv_cells import neutralise
from qbo_integration.errors import NotFound
from qbo_integration.reconciliation import findings, service

router = APIRouter(tags=["reconciliation"])
_ERRORS: dict[int | str, dict[str, Any]] = {401: {"description": "Missing or invalid bearer token"},
                                            403: {"description": "Another company, or not an admin"},
                                            404: {"description": "Unknown run"}}


class ReconcileIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    company_id: uuid.UUID = Field(alias="companyId")


class RunOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    run_id: uuid.UUID = Field(alias="runId")
    status: str
    trigger: str
    window_days: int = Field(alias="windowDays")
    started_at: datetime | None = Field(None, alias="startedAt")
    completed_at: datetime | None = Field(None, alias="completedAt")
    qbo_reads: int = Field(alias="qboReads", description="QuickBooks read calls this run spent (metered by Intuit)")
    records_read: int = Field(alias="recordsRead")
    complete: bool = Field(description="false: the read budget ran out before everything was read")
    counts: dict[str, int] = Field(description="missing, duplicate, orphan, drift")
    findings: list[dict[str, Any]]
    error: str | None = None


def _out(run: Any) -> RunOut:
    return RunOut.model_validate({
        "run_id": run.id, "status": run.status, "trigger": run.trigger, "window_days": run.window_days,
        "started_at": run.started_at, "completed_at": run.completed_at, "qbo_reads": run.qbo_reads,
        "records_read": run.records_read, "complete": run.complete, "counts": run.counts or {},
        "findings": run.findings or [], "error": run.error})


@router.post("/reconciliation", response_model=RunOut, status_code=202, responses={**_ERRORS, 409: {
    "description": "QuickBooks is not connected"}}, summary="Reconcile QuickBooks with what was synced, now (admin)")
async def reconcile_now(body: ReconcileIn, admin: AdminOf[ReconcileIn], session: SessionDep, queue: QueueDep,
                        settings: SettingsDep) -> RunOut:
    run = await service.queue_run(session, queue, body.company_id, trigger="admin",
                                  window_days=settings.reconciliation_window_days)
    run.qbo_reads = run.records_read = 0
    run.complete, run.counts, run.findings = True, {}, []
    return _out(run)


@router.get("/reconciliation/latest", response_model=RunOut, responses=_ERRORS,
            summary="The newest reconciliation run of the company")
async def latest(reader: CompanyReader, session: SessionDep) -> RunOut:
    run = await service.latest_run(session, reader.company_id)
    if run is None:
        raise NotFound("No reconciliation has run for this company yet")
    return _out(run)


@router.get("/reconciliation/{run_id}", response_model=RunOut, responses=_ERRORS, summary="One reconciliation run")
async def get_run(run_id: uuid.UUID, reader: CompanyReader, session: SessionDep) -> RunOut:
    return _out(await service.get_run(session, reader.company_id, run_id))


@router.get("/reconciliation/{run_id}/report.csv", responses={200: {"content": {"text/csv": {}}}, **_ERRORS},
            summary="A reconciliation run's findings as CSV", response_class=Response)
async def report_csv(run_id: uuid.UUID, reader: CompanyReader,
                     session: SessionDep) -> Response:
    run = await service.get_run(session, reader.company_id, run_id)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["kind", "qbo_id", "timecard_id", "message", "repair"])
    for f in run.findings or []:  # cells a spreadsheet would run as formulas are shown as typed
        writer.writerow([neutralise(f.get(k)) for k in ("kind", "qboId", "timecardId", "message", "repair")])
    return Response(buf.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="reconciliation-{run_id}.csv"'})


# ------------------------------------------------------------------------------------------ drift
class DriftFindingOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    id: uuid.UUID
    timecard_id: uuid.UUID = Field(alias="timecardId")
    qbo_id: str = Field(alias="qboId")
    kind: Literal["changed", "deleted"] = Field(description="changed or deleted in QuickBooks by someone else")
    source: str = Field(description="webhook, reconciliation, or sync (a version CrewFlow's write overwrote)")
    detected_at: datetime = Field(alias="detectedAt")
    qbo_view: dict[str, Any] | None = Field(None, alias="qboView", description="What QuickBooks held")
    status: Literal["open", "pushed", "accepted", "dismissed", "superseded", "archived"] = Field(
        "open", description="superseded: CrewFlow wrote the timecard to QuickBooks again since (CrewFlow is the "
                            "system of record for approved time); archived: the company switched QuickBooks company")
    resolved_at: datetime | None = Field(None, alias="resolvedAt")
    resolved_by: str | None = Field(None, alias="resolvedBy")


class DriftListOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    items: list[DriftFindingOut]


class DriftResolveIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    company_id: uuid.UUID = Field(alias="companyId")
    action: Literal["push", "accept", "dismiss"] = Field(
        description="push: send CrewFlow's version again; accept: keep QuickBooks' version (recorded; our next "
                    "write starts from it); dismiss: ignore")


def _finding_out(row: Any) -> DriftFindingOut:
    return DriftFindingOut.model_validate({"id": row.id, "timecard_id": row.timecard_id, "qbo_id": row.qbo_id,
                                           "kind": row.kind, "source": row.source, "detected_at": row.detected_at,
                                           "qbo_view": row.qbo_view, "status": row.status,
                                           "resolved_at": row.resolved_at, "resolved_by": row.resolved_by})


@router.get("/drift", response_model=DriftListOut, tags=["drift"],
            summary="Synced time entries changed or deleted in QuickBooks by someone else (open findings, or the "
                    "history of resolved ones)",
            responses={401: {"description": "Missing or invalid bearer token"},
                       403: {"description": "Another company"}})
async def drift_findings(admin: CompanyAdmin, session: SessionDep,
                         status: Literal["open", "resolved"] = Query(
                             "open", description="open findings, or the resolved ones (newest first)")) -> DriftListOut:
    # admin only: QuickBooks' record, with pay rates (README, "Roles")
    rows = await (findings.open_findings if status == "open" else findings.resolved_findings)(session, admin.company_id)
    return DriftListOut(items=[_finding_out(r) for r in rows])


@router.post("/drift/{finding_id}/resolve", response_model=DriftFindingOut, tags=["drift"],
             summary="Send CrewFlow's version of a drifted entry again, keep QuickBooks' version, or dismiss (admin)",
             responses={401: {"description": "Missing or invalid bearer token"},
                        403: {"description": "Another company, or not an admin"},
                        404: {"description": "Unknown finding"},
                        409: {"description": "Already resolved; a deleted entry cannot be kept; live sync off (push)"}})
async def resolve_drift(finding_id: uuid.UUID, body: DriftResolveIn, admin: AdminOf[DriftResolveIn],
                        session: SessionDep, queue: QueueDep) -> DriftFindingOut:
    row = await findings.resolve(session, queue, body.company_id, finding_id, body.action,
                                 actor=f"user:{admin.sub}")
    return _finding_out(row)
