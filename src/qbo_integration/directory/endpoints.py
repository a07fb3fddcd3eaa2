"""Routes of the directory import: queue one, read its status. Routes only: the logic is in import_flow.py.
Tagged `mapping`, as they were before the directory had its own package, so the API document is unchanged."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from qbo_integration.api.deps import PrincipalDep, QueueDep, SessionDep, company_access
from qbo_integration.core_platform.gateway import require_company
from qbo_integration.directory import import_flow
from qbo_integration.directory.schemas import DirectoryImportIn, ImportJobOut
from qbo_integration.errors import NotFound
from qbo_integration.sync.models import SyncJob

router = APIRouter(tags=["mapping"])
CompanyQ = Annotated[uuid.UUID, Query(alias="companyId")]


def _job_out(job: SyncJob, message: str | None = None) -> ImportJobOut:
    return ImportJobOut(job_id=job.id, status=job.status, trigger=job.trigger, mode=(job.params or {}).get("mode"),
                        started_at=job.started_at, completed_at=job.completed_at, qbo_calls=job.qbo_calls or 0,
                        results=job.results or {}, errors=job.errors or [], message=message)


@router.post("/directory/import", status_code=status.HTTP_202_ACCEPTED, response_model=ImportJobOut,
             response_model_by_alias=True)
async def start_import(body: DirectoryImportIn, principal: PrincipalDep, session: SessionDep,
                       queue: QueueDep) -> ImportJobOut:
    company_access(principal, body.company_id, admin=True)
    await require_company(session, body.company_id)
    job = await import_flow.queue_import(session, queue, body.company_id, mode=body.mode, actor=principal.sub)
    return _job_out(job, "Directory import queued")


@router.get("/directory/import/{job_id}", response_model=ImportJobOut, response_model_by_alias=True)
async def import_status(job_id: uuid.UUID, company_id: CompanyQ, principal: PrincipalDep,
                        session: SessionDep) -> ImportJobOut:
    company_access(principal, company_id)
    await require_company(session, company_id)
    job = await import_flow.get_job(session, company_id, job_id)
    if job is None:
        raise NotFound("Unknown directory import job for this company")
    return _job_out(job)
