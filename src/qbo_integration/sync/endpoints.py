"""Sync routes: Sync Now and its status, dead letters, sync settings. Logic lives in service.py."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from qbo_integration.api.deps import AdminOf, CompanyReader, PrincipalDep, QueueDep, SessionDep
from qbo_integration.errors import NotFound
from qbo_integration.sync import jobs, service
from qbo_integration.sync.schemas import (
    CompanyQuery,
    DeadLetter,
    DeadLettersOut,
    RequeueIn,
    RequeueOut,
    SyncNowIn,
    SyncNowOut,
    SyncResults,
    SyncSettingsIn,
    SyncSettingsOut,
    SyncStatusOut,
)

router = APIRouter(tags=["sync"])


@router.post("/sync-now", response_model=SyncNowOut, status_code=202,
             summary="Queue a sync of the company's approved timecards (or the given ones) now (admin)")
async def sync_now(body: SyncNowIn, admin: AdminOf[SyncNowIn], session: SessionDep, queue: QueueDep) -> SyncNowOut:
    job = await service.request_sync(session, queue, body.company_id, body.timecard_ids)
    return SyncNowOut.model_validate({"job_id": job.id})


@router.get("/sync-status/{job_id}", response_model=SyncStatusOut, summary="Progress and results of a sync job")
async def sync_status(job_id: str, principal: PrincipalDep, session: SessionDep) -> SyncStatusOut:
    try:
        jid = uuid.UUID(job_id)
    except ValueError:
        raise NotFound("Sync job not found (job ids are UUIDs)") from None
    job = await service.job_for_company(session, principal.company_id, jid)  # the token's company's job, any role
    note = (job.results or {}).get("note")
    return SyncStatusOut.model_validate(dict(
        job_id=job.id, status=job.status, progress=jobs.progress(job),
        results=SyncResults(synced=job.timecards_synced, failed=job.timecards_failed, errors=list(job.errors or [])),
        total=job.timecards_total, qbo_calls=job.qbo_calls, batches=job.qbo_batches, retries=job.qbo_retries,
        trigger=job.trigger, note=note, created_at=job.created_at, started_at=job.started_at,
        completed_at=job.completed_at,
    ))


@router.get("/dead-letters", response_model=DeadLettersOut,
            summary="Timecards that failed every retry (re-queue them with POST /dead-letters/requeue)")
async def dead_letters(q: Annotated[CompanyQuery, Query()], reader: CompanyReader,
                       session: SessionDep) -> DeadLettersOut:
    rows = await service.dead_letters(session, q.company_id)
    items = [DeadLetter.model_validate(dict(
        timecard_id=r.timecard_id, operation=r.operation, attempts=r.attempts, error=r.last_error,
        error_code=r.last_error_code, qbo_id=r.qbo_id, updated_at=r.updated_at)) for r in rows]
    return DeadLettersOut(items=items, count=len(items))


@router.post("/dead-letters/requeue", response_model=RequeueOut,
             summary="Try dead-lettered timecards again from the first attempt (admin)")
async def requeue_dead(body: RequeueIn, admin: AdminOf[RequeueIn], session: SessionDep, queue: QueueDep) -> RequeueOut:
    n = await service.requeue_dead(session, queue, body.company_id, body.timecard_ids)
    return RequeueOut(requeued=n)


@router.put("/sync-settings", response_model=SyncSettingsOut,
            summary="Set the sync start date: approved timecards dated before it are never sent (admin)")
async def sync_settings(body: SyncSettingsIn, admin: AdminOf[SyncSettingsIn], session: SessionDep) -> SyncSettingsOut:
    integration = await service.set_sync_start_date(session, body.company_id, body.sync_start_date)
    return SyncSettingsOut.model_validate(
        {"company_id": integration.company_id, "sync_start_date": integration.sync_start_date})
