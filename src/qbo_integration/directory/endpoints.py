"""Routes of the directory import: queue one, read its status; its proposals (list, decide) and merging
back a record it created by mistake. Routes only: the logic is in import_flow.py and decisions.py.
Tagged `mapping`, as they were before the directory had its own package."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status

from qbo_integration.api.deps import AdminOf, CompanyAdmin, CompanyReader, QueueDep, SessionDep
from qbo_integration.api.openapi_doc import ERROR_REF
from qbo_integration.core_platform.gateway import require_company
from qbo_integration.directory import decisions, import_flow
from qbo_integration.directory.schemas import (
    DecisionIn,
    DecisionOut,
    DirectoryImportIn,
    ImportJobOut,
    MergeIn,
    MergeOut,
    ProposalOut,
    ProposalsOut,
)
from qbo_integration.errors import NotFound
from qbo_integration.sync.models import SyncJob

router = APIRouter(tags=["mapping"])


def _job_out(job: SyncJob, message: str | None = None) -> ImportJobOut:
    return ImportJobOut(job_id=job.id, status=job.status, trigger=job.trigger, mode=(job.params or {}).get("mode"),
                        started_at=job.started_at, completed_at=job.completed_at, qbo_calls=job.qbo_calls or 0,
                        results=job.results or {}, errors=job.errors or [], message=message)


@router.post("/directory/import", status_code=status.HTTP_202_ACCEPTED, response_model=ImportJobOut,
             response_model_by_alias=True)
async def start_import(body: DirectoryImportIn, admin: AdminOf[DirectoryImportIn], session: SessionDep,
                       queue: QueueDep) -> ImportJobOut:
    await require_company(session, body.company_id)
    job = await import_flow.queue_import(session, queue, body.company_id, mode=body.mode, actor=admin.sub)
    return _job_out(job, "Directory import queued")


@router.get("/directory/import/{job_id}", response_model=ImportJobOut, response_model_by_alias=True)
async def import_status(job_id: uuid.UUID, reader: CompanyReader,
                        session: SessionDep) -> ImportJobOut:
    await require_company(session, reader.company_id)
    job = await import_flow.get_job(session, reader.company_id, job_id)
    if job is None:
        raise NotFound("Unknown directory import job for this company")
    return _job_out(job)


def _errors(by_status: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    return {code: {"description": v, "content": {"application/json": {"schema": ERROR_REF}}}
            for code, v in by_status.items()}


@router.get("/directory/proposals", response_model=ProposalsOut, response_model_by_alias=True,
            summary="What the import could not place for sure (link, create or skip each), and merges to offer")
async def list_proposals(admin: CompanyAdmin, session: SessionDep,
                         state: Annotated[Literal["open", "all"], Query(alias="status")] = "open") -> ProposalsOut:
    # admin only: candidates' emails (README, "Roles")
    await require_company(session, admin.company_id)
    return ProposalsOut.model_validate(await decisions.list_proposals(session, admin.company_id, open_only=state == "open"))


@router.post("/directory/proposals/{proposal_id}/decision", response_model=DecisionOut, response_model_by_alias=True,
             summary="Answer a proposal: link it to a CrewFlow record, create a new one, or skip it (admin)",
             responses=_errors({404: "Unknown company, proposal or CrewFlow record",
                                409: "Already answered differently; the QuickBooks record or the chosen CrewFlow "
                                     "record is linked elsewhere or inactive"}))
async def decide(proposal_id: uuid.UUID, body: DecisionIn, admin: AdminOf[DecisionIn],
                 session: SessionDep) -> DecisionOut:
    await require_company(session, body.company_id)
    view, changed, message = await decisions.decide(session, body.company_id, proposal_id, body.decision,
                                                    body.crewflow_id, actor=admin.sub)
    return DecisionOut(proposal=ProposalOut.model_validate(view), changed=changed, message=message)


@router.post("/directory/merge", response_model=MergeOut, response_model_by_alias=True,
             summary="Merge back a record the import created twice: move its QuickBooks link, retire it (admin)",
             responses=_errors({404: "Unknown company, or a worker or project that is not this company's",
                                409: "The record to retire has timecards or no QuickBooks link; the one to keep is "
                                     "inactive or linked to another QuickBooks record"}))
async def merge(body: MergeIn, admin: AdminOf[MergeIn], session: SessionDep) -> MergeOut:
    await require_company(session, body.company_id)
    view, changed, message = await decisions.merge(session, body.company_id, body.entity_type, body.from_id,
                                                   body.into_id, actor=admin.sub)
    return MergeOut.model_validate({**view, "changed": changed, "message": message})
