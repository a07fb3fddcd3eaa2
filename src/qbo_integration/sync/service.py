"""Sync's public functions (docs/internal-contracts.md): Sync Now, re-queues, dead letters, settings.

Services never commit: the request (SessionDep) or job boundary does, and jobs are enqueued with
`queue.after_commit` so a worker never looks for rows that are not committed yet.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.clock import utc_now
from qbo_integration.connections.models import Integration
from qbo_integration.connections.service import get_integration, is_connected
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.core_platform.views import CompanyView
from qbo_integration.errors import Conflict, NotFound
from qbo_integration.queue import SYNC_COMPANY, JobQueue
from qbo_integration.sync import core_status, jobs, outbox, outbox_repository, policy
from qbo_integration.sync.models import SyncJob
from qbo_integration.sync.models import TimecardSyncRecord as Row
from qbo_integration.sync.states import Kind, State
from qbo_integration.sync.story import events as story
from qbo_integration.sync.sweep import rederive_company

FUNCTION = SYNC_COMPANY



async def _live_integration(session: AsyncSession, company_id: uuid.UUID) -> Integration:
    integration = await get_integration(session, company_id)
    if integration is None or not is_connected(integration):
        raise Conflict("QuickBooks is not connected for this company: connect it first, then sync",
                       code="not_connected")
    if not integration.enabled:
        raise Conflict("Live sync is not enabled for this company: finish setup and enable live sync first",
                       code="live_sync_disabled")
    return integration


async def check_timecards(session: AsyncSession, company_id: uuid.UUID, timecard_ids: list[uuid.UUID]) -> None:
    """Every id must be one of this company's timecards: another company's answers 404 like an unknown one."""
    owners = await CoreGateway(session).timecard_companies(timecard_ids)
    missing = [str(t) for t in timecard_ids if owners.get(t) != company_id]
    if missing:
        raise NotFound(f"Timecard(s) not found: {', '.join(missing[:20])}", details={"timecardIds": missing})


def _enqueue(session: AsyncSession, queue: JobQueue, company_id: uuid.UUID, job: SyncJob | None, tag: str) -> None:
    if job is not None:
        job_id = job.id

        async def unqueued(s: AsyncSession) -> None:
            await jobs.fail_unqueued(s, job_id, utc_now())

        queue.after_commit(session, FUNCTION, str(company_id), str(job.id), _job_id=f"sync:{company_id}:now:{job.id}",
                           _if_unqueued=unqueued)
    else:
        queue.after_commit(session, FUNCTION, str(company_id), _job_id=f"sync:{company_id}:{tag}:{uuid.uuid4().hex}")


async def _requeue_rows(session: AsyncSession, company_id: uuid.UUID, *, states: tuple[State, ...],
                        kinds: tuple[Kind, ...] | None, timecard_ids: list[uuid.UUID] | None,
                        now: datetime, action: str, actor: str | None = None) -> int:
    locked = await outbox_repository.lock_rows(session, company_id, timecard_ids=timecard_ids, states=states,
                                               kinds=kinds)
    was = {row.id: str(row.state) for row in locked}
    requeued = [row for row in locked if outbox.requeue(row, now)]
    await core_status.report(session, requeued)
    await story.record(session, [r for row in requeued
                                 for r in story.admin(company_id, [row.timecard_id], action, now, was=was[row.id],
                                                      actor=actor)])
    return len(requeued)


async def request_sync(session: AsyncSession, queue: JobQueue, company_id: uuid.UUID,
                       timecard_ids: list[uuid.UUID] | None = None, trigger: str = "sync_now",
                       now: datetime | None = None, actor: str | None = None) -> SyncJob:
    """Sync Now: re-derive the outbox (all approved timecards, or the given ones), re-queue failed
    rows (and dead ones when ids are given), and queue a job whose progress `sync_status` reports.
    For the whole company that work grows with its history, so the job does it, not the request."""
    now = now or utc_now()
    integration = await _live_integration(session, company_id)
    if timecard_ids:
        timecard_ids = list(dict.fromkeys(timecard_ids))
        await check_timecards(session, company_id, timecard_ids)
        await rederive_company(session, integration, now, timecard_ids)
        requeued = await _requeue_rows(session, company_id, states=(State.FAILED, State.DEAD), kinds=None,
                                       timecard_ids=timecard_ids, now=now, action="requeue", actor=actor)
        await story.record(session, story.admin(company_id, timecard_ids, "sync_now", now, trigger=trigger,
                                                actor=actor))
        params: dict[str, Any] = {"timecardIds": [str(t) for t in timecard_ids], "requeued": requeued}
    else:  # the whole company: the job re-derives its outbox (prepare_whole_company), not this request
        params = {"timecardIds": [], jobs.REDERIVE: True}
    job = await jobs.create(session, integration.id, company_id, trigger, params)
    _enqueue(session, queue, company_id, job, "now")
    return job


async def prepare_whole_company(session: AsyncSession, company_id: uuid.UUID, now: datetime, *,
                                known: tuple[Integration, CompanyView] | None = None) -> int:
    """A Sync Now of the whole company, at the start of its job: re-derive the outbox from every
    timecard and re-queue rows failed for mapping or validation reasons. Returns rows re-queued.
    `known`: the integration and company the job read already (else they are read here)."""
    integration = known[0] if known else await get_integration(session, company_id)
    if integration is None:
        return 0
    await rederive_company(session, integration, now, company=known[1] if known else None)
    return await _requeue_rows(session, company_id, states=(State.FAILED,), kinds=(Kind.VALIDATION, Kind.MAPPING),
                               timecard_ids=None, now=now, action="sync_now")


async def requeue_failed(session: AsyncSession, queue: JobQueue, company_id: uuid.UUID,
                         reason: str = "mapping", now: datetime | None = None,
                         kinds: tuple[Kind, ...] = (Kind.VALIDATION, Kind.MAPPING)) -> int:
    """The mapping changed (or the directory it names): rows that failed for these reasons try again."""
    integration = await get_integration(session, company_id)
    if integration is None:
        return 0
    n = await _requeue_rows(session, company_id, states=(State.FAILED,), kinds=kinds,
                            timecard_ids=None, now=now or utc_now(), action=f"requeue_{reason}")
    if n and integration.enabled:
        _enqueue(session, queue, company_id, None, f"requeue-{reason}"[:30])
    return n


async def requeue_reopened(session: AsyncSession, queue: JobQueue, company_id: uuid.UUID, *,
                           close_date: date | None, class_tracking: bool, department_tracking: bool,
                           now: datetime | None = None) -> int:
    """The company's QuickBooks preferences were read again: timecards its books refused (policy.BOOKS_CODES)
    that they no longer refuse try again: dated after the closing date now (or none), class or location
    tracking now on. A timecard still closed is left failed (its message stays true)."""
    integration = await get_integration(session, company_id)
    if integration is None:
        return 0
    codes = [c for c, lifted in ((policy.CLASS_TRACKING_OFF, class_tracking),
                                 (policy.LOCATION_TRACKING_OFF, department_tracking)) if lifted]
    ids = await outbox_repository.refused_by_books(session, company_id, tuple(codes)) if codes else []
    closed = (policy.BOOKS_CLOSED,)
    if close_date is None:
        ids += await outbox_repository.refused_by_books(session, company_id, closed)
    else:
        company = await CoreGateway(session).get_company(company_id)
        ids += await outbox_repository.refused_by_books(
            session, company_id, closed, dated_after=(company.timezone if company else "UTC", close_date))
    if not ids:
        return 0
    n = await _requeue_rows(session, company_id, states=(State.FAILED,), kinds=(Kind.VALIDATION,),
                            timecard_ids=ids, now=now or utc_now(), action="requeue_books_reopened")
    if n and integration.enabled:
        _enqueue(session, queue, company_id, None, "requeue-books")
    return n


async def requeue_dead(session: AsyncSession, queue: JobQueue, company_id: uuid.UUID,
                       timecard_ids: list[uuid.UUID] | None = None, now: datetime | None = None,
                       actor: str | None = None) -> int:
    if timecard_ids:
        await check_timecards(session, company_id, timecard_ids)
    integration = await get_integration(session, company_id)
    if integration is None:
        raise NotFound("This company has no QuickBooks integration")
    n = await _requeue_rows(session, company_id, states=(State.DEAD,), kinds=None, timecard_ids=timecard_ids,
                            now=now or utc_now(), action="requeue_dead", actor=actor)
    if n and integration.enabled:
        _enqueue(session, queue, company_id, None, "requeue-dead")
    return n


async def dead_letters(session: AsyncSession, company_id: uuid.UUID, limit: int = 500) -> list[Row]:
    return await outbox_repository.dead_rows(session, company_id, limit)


async def job_for_company(session: AsyncSession, company_id: uuid.UUID, job_id: uuid.UUID) -> SyncJob:
    job = await jobs.get(session, job_id)
    if job is None or job.company_id != company_id:  # another company's job: 404 like an unknown id
        raise NotFound("Sync job not found")
    return job


async def set_sync_start_date(session: AsyncSession, company_id: uuid.UUID, start: date | None) -> Integration:
    integration = await get_integration(session, company_id)
    if integration is None:
        raise NotFound("This company has no QuickBooks integration: connect QuickBooks first")
    integration.sync_start_date = start
    return integration


async def queue_backlog(session: AsyncSession, queue: JobQueue, company_id: uuid.UUID,
                        now: datetime | None = None) -> int:
    """Live sync was just turned on: queue the approved backlog now (as Sync Now does) rather than at the
    next sweep. Returns how many timecards wait for QBO: outbox rows pending or in flight, and approved
    timecards from the sync start date that have no row yet."""
    integration = await _live_integration(session, company_id)
    company = await CoreGateway(session).get_company(company_id)
    tz = company.timezone if company else "UTC"
    unqueued = await outbox_repository.count_unqueued(session, company_id, integration.sync_start_date, tz)
    waiting = await outbox_repository.count_waiting(session, company_id)
    await request_sync(session, queue, company_id, trigger="live_sync", now=now)
    return unqueued + waiting
