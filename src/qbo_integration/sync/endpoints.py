"""Sync routes: Sync Now and its status, dead letters, sync settings. Logic lives in service.py."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from qbo_integration.api.deps import AdminOf, CompanyReader, PrincipalDep, QueueDep, SessionDep, SettingsDep
from qbo_integration.clock import utc_now
from qbo_integration.errors import NotFound
from qbo_integration.sync import jobs, service, waits
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
from qbo_integration.sync.story import service as story
from qbo_integration.sync.story.endpoints import qbo_of

router = APIRouter(tags=["sync"])
ERRORS_EXPLAINED = 200  # a job's errors that get their timecard's state in words


def _sync_now_words(waiting: list[waits.Wait]) -> str:
    if not waiting:
        return "Sync job queued"
    n = sum(w.count for w in waiting)
    return f"Sync job queued; {n} timecard(s) cannot go now: " + " ".join(w.message for w in waiting)


@router.post("/sync-now", response_model=SyncNowOut, status_code=202,
             summary="Queue a sync of the company's approved timecards (or the given ones) now (admin)")
async def sync_now(body: SyncNowIn, admin: AdminOf[SyncNowIn], request: Request, session: SessionDep,
                   queue: QueueDep, settings: SettingsDep) -> SyncNowOut:
    now = utc_now()
    job = await service.request_sync(session, queue, body.company_id, body.timecard_ids, now=now,
                                     actor=admin.sub)
    await session.flush()
    waiting = await waits.after_sync_now(session, qbo_of(request), body.company_id, body.timecard_ids, now,
                                         sweep_minutes=settings.sync_sweep_minutes)
    return SyncNowOut.model_validate({"job_id": job.id, "message": _sync_now_words(waiting),
                                      "waiting": [w.as_dict() for w in waiting]})


@router.get("/sync-status/{job_id}", response_model=SyncStatusOut, summary="Progress and results of a sync job")
async def sync_status(job_id: str, request: Request, principal: PrincipalDep, session: SessionDep,
                      settings: SettingsDep) -> SyncStatusOut:
    try:
        jid = uuid.UUID(job_id)
    except ValueError:
        raise NotFound("Sync job not found (job ids are UUIDs)") from None
    job = await service.job_for_company(session, principal.company_id, jid)  # the token's company's job, any role
    note = (job.results or {}).get("note")
    waiting: list[waits.Wait] = []
    if job.status in ("completed", "failed"):  # what of its timecards still waits, and until when
        ids = [uuid.UUID(t) for t in (job.params or {}).get("timecardIds") or []]
        ctx = await waits.read_context(session, qbo_of(request), job.company_id, utc_now(),
                                       sweep_minutes=settings.sync_sweep_minutes)
        waiting = await waits.company_waits(session, ctx, job.company_id, timecard_ids=ids or None)
    return SyncStatusOut.model_validate(dict(
        job_id=job.id, status=job.status, progress=jobs.progress(job),
        results=SyncResults(synced=job.timecards_synced, failed=job.timecards_failed,
                            errors=await _errors_now(session, request, job.company_id, list(job.errors or []))),
        total=job.timecards_total, qbo_calls=job.qbo_calls, batches=job.qbo_batches, retries=job.qbo_retries,
        trigger=job.trigger, note=note, waiting=[w.as_dict() for w in waiting], created_at=job.created_at,
        started_at=job.started_at, completed_at=job.completed_at,
    ))


async def _errors_now(session: SessionDep, request: Request, company_id: uuid.UUID,
                      errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A job's errors, each with its timecard's sync state now (`sync`, the same words as everywhere)."""
    ids = list(dict.fromkeys(uuid.UUID(e["timecardId"]) for e in errors if e.get("timecardId")))[:ERRORS_EXPLAINED]
    if not ids:
        return errors
    said = await story.explain_many(session, qbo_of(request), company_id, ids)
    return [{**e, "sync": said[uuid.UUID(e["timecardId"])].as_dict()} if e.get("timecardId")
            and uuid.UUID(e["timecardId"]) in said else e for e in errors]


@router.get("/dead-letters", response_model=DeadLettersOut,
            summary="Timecards that failed every retry (re-queue them with POST /dead-letters/requeue)")
async def dead_letters(q: Annotated[CompanyQuery, Query()], request: Request, reader: CompanyReader,
                       session: SessionDep) -> DeadLettersOut:
    rows = await service.dead_letters(session, q.company_id)
    said = await story.explain_many(session, qbo_of(request), q.company_id, [r.timecard_id for r in rows]) \
        if rows else {}
    items = [DeadLetter.model_validate(dict(
        timecard_id=r.timecard_id, sync=said[r.timecard_id].as_dict(), operation=r.operation, attempts=r.attempts,
        error=r.last_error,
        error_code=r.last_error_code, qbo_id=r.qbo_id, updated_at=r.updated_at)) for r in rows]
    return DeadLettersOut(items=items, count=len(items))


@router.post("/dead-letters/requeue", response_model=RequeueOut,
             summary="Try dead-lettered timecards again from the first attempt (admin)")
async def requeue_dead(body: RequeueIn, admin: AdminOf[RequeueIn], session: SessionDep, queue: QueueDep) -> RequeueOut:
    n = await service.requeue_dead(session, queue, body.company_id, body.timecard_ids, actor=admin.sub)
    return RequeueOut(requeued=n)


@router.put("/sync-settings", response_model=SyncSettingsOut,
            summary="Set the sync start date: approved timecards dated before it are never sent (admin)")
async def sync_settings(body: SyncSettingsIn, admin: AdminOf[SyncSettingsIn], session: SessionDep) -> SyncSettingsOut:
    integration = await service.set_sync_start_date(session, body.company_id, body.sync_start_date)
    return SyncSettingsOut.model_validate(
        {"company_id": integration.company_id, "sync_start_date": integration.sync_start_date})
