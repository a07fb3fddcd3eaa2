"""The directory import as a job: a sync_jobs row (kind directory_import) with status and counts,
an audit row, the setup step, and a retry later when QBO was only briefly unavailable.

Three short transactions: claim the job (running), fetch from QBO with no transaction open (the
directory, then the company's preferences: the books' rules), then apply + finish under a per-company
advisory lock (two imports never interleave their writes); timecards the books no longer refuse are
queued again there (`refresh_books`).
`mapped` (what the mapping points at: mapping.profiles.profile_targets) is handed in by the caller; the
directory imports nothing of mapping.
Safe to run twice (arq is at-least-once): a finished job is not run again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.clock import utc_now
from qbo_integration.connections import books as company_books
from qbo_integration.connections.models import Integration
from qbo_integration.connections.service import get_integration, still_on_realm
from qbo_integration.directory import fetching, importer
from qbo_integration.directory.importer import MappedKeys
from qbo_integration.directory.lock import lock
from qbo_integration.logs import log_context
from qbo_integration.monitoring import audit
from qbo_integration.monitoring.setup import mark_step
from qbo_integration.qbo import CompanyClient, QboApi, QboError, RetryPolicy
from qbo_integration.qbo import purpose as purposes
from qbo_integration.qbo.models import QboEntity, entity_model
from qbo_integration.qbo.purpose import reading_for
from qbo_integration.queue import IMPORT_DIRECTORY, JobQueue, commit_and_flush
from qbo_integration.sync import jobs as sync_jobs
from qbo_integration.sync import service as sync_service
from qbo_integration.sync.models import SyncJob
from qbo_integration.sync.states import Kind

logger = logging.getLogger(__name__)

KIND = "directory_import"
LINKED = "directory_linked"  # audit action: the import linked a QBO record to an existing CrewFlow record
FUNCTION = IMPORT_DIRECTORY
#: A failed import is tried again while QBO was only briefly unavailable: 5 min, then 10 min later.
RETRIES = RetryPolicy.fixed(300, 600)
NOT_CONNECTED = "QuickBooks is not connected for this company: connect it, then import again"
NEVER_STARTED_NOTE = ("This import never started: the job queue lost it (Redis restarted or could not be reached). "
                      "The daily import still runs; press Import to import now.")
REALM_CHANGED = ("QuickBooks company changed while this import ran: what it read from the previous company was "
                 "not applied. The import of the new company runs on its own.")
UNQUEUED_NOTE = ("This import could not be queued: the job queue (Redis) could not be reached. Press Import again "
                 "in a moment.")


class RealmChanged(Exception):
    """The company was switched to another QuickBooks company after the import read the old one."""


def job_key(company_id: uuid.UUID | str, job_id: uuid.UUID | str) -> str:
    return f"directory_import:{company_id}:{job_id}"


def new_job(integration: Integration, *, trigger: str, mode: str = "auto", attempt: int = 1) -> SyncJob:
    return SyncJob(id=uuid.uuid4(), integration_id=integration.id, company_id=integration.company_id, kind=KIND,
                   trigger=trigger, status="pending", params={"mode": mode, "attempt": attempt}, results={},
                   errors=[])


async def last_cursor(session: AsyncSession, company_id: uuid.UUID, *, exclude: uuid.UUID | None = None) -> datetime | None:
    """When the newest completed import started (what the next incremental import asks QBO about)."""
    stmt = (select(SyncJob.results).where(SyncJob.company_id == company_id, SyncJob.kind == KIND,
                                          SyncJob.status == "completed")
            .order_by(SyncJob.started_at.desc().nulls_last()).limit(1))
    if exclude is not None:
        stmt = stmt.where(SyncJob.id != exclude)
    results = (await session.execute(stmt)).scalar_one_or_none()
    raw = (results or {}).get("cursor")
    return datetime.fromisoformat(raw) if raw else None


async def forget_cursor(session: AsyncSession, company_id: uuid.UUID) -> None:
    """Our copy of the directory is gone (another QuickBooks company): the next import reads every record,
    not the changes since an import of the old company."""
    await session.execute(update(SyncJob).where(SyncJob.company_id == company_id, SyncJob.kind == KIND,
                                                SyncJob.results.has_key("cursor"))
                          .values(results=SyncJob.results.op("-")("cursor"))
                          .execution_options(synchronize_session=False))


async def run_import(sessionmaker: async_sessionmaker[AsyncSession], qbo: QboApi, queue: JobQueue,
                     company_id: uuid.UUID | str, job_id: uuid.UUID | str | None = None, *, mapped: MappedKeys,
                     trigger: str | None = None, now: Callable[[], datetime] = utc_now) -> dict[str, Any]:
    """Run one import; `trigger` for a job made here defaults to connect (first import) or cron."""
    cid = uuid.UUID(str(company_id))
    with log_context(company_id=cid, job_id=job_id):
        claimed = await _claim(sessionmaker, cid, uuid.UUID(str(job_id)) if job_id else None, trigger, now())
        if claimed is None:
            return {"status": "skipped"}
        job_id_, realm_id, cursor, started, mode, attempt = claimed
        client = qbo.company(cid, realm_id)
        try:
            with reading_for(purposes.DIRECTORY_IMPORT if cursor is None or mode == "full"
                             else purposes.DIRECTORY_REFRESH):
                fetched = await fetching.fetch(client, cursor=cursor, now=started, force_full=mode == "full")
            with reading_for(purposes.PREFERENCES):
                rules = await _read_books(client, now())
            async with sessionmaker() as s:
                await lock(s, cid)
                integ = await still_on_realm(s, cid, realm_id)
                if integ is None:
                    raise RealmChanged(realm_id)
                counts = await importer.apply(s, cid, fetched, mapped)
                job = await s.get(SyncJob, job_id_)
                assert job is not None
                if rules is not None:
                    await refresh_books(s, queue, integ.id, cid, rules)
                results = {"mode": fetched.mode, "cursor": started.isoformat(), **counts.as_dict()}
                job.status, job.completed_at, job.results = "completed", now(), results
                job.qbo_calls, job.qbo_retries = client.stats.calls, client.stats.retries
                await audit.record(s, integration_id=integ.id, company_id=cid, action=KIND, status="success",
                                   job_id=job_id_, actor=f"system:{job.trigger}",
                                   response_payload={k: results[k] for k in ("mode", "users", "projects")})
                await audit_links(s, integ.id, cid, counts.links, job_id=job_id_, actor=f"system:{job.trigger}")
                await mark_step(s, cid, "directory_imported")
                await commit_and_flush(s, queue)
            if counts.changed:
                await _requeue_mapping_failures(sessionmaker, queue, cid)
            logger.info("directory import finished", extra={"fields": {"mode": fetched.mode,
                                                                      "qbo_calls": client.stats.calls}})
            return {"status": "completed", "jobId": str(job_id_), **results}
        except Exception as exc:  # noqa: BLE001 — every failure is recorded on the job
            await _fail(sessionmaker, queue, cid, job_id_, exc, attempt=attempt, mode=mode, calls=client.stats.calls,
                        now=now())
            if not isinstance(exc, QboError | RealmChanged):
                raise
            return {"status": "failed", "jobId": str(job_id_),
                    "error": exc.message if isinstance(exc, QboError) else REALM_CHANGED}


async def _requeue_mapping_failures(sessionmaker: async_sessionmaker[AsyncSession], queue: JobQueue,
                                    company_id: uuid.UUID) -> None:
    """A record a timecard failed on may be usable now (an employee made active again): those rows try
    again, in a transaction of their own after the copy is committed, so a round that failed a row from the
    old copy and committed meanwhile is re-queued too (and no lock is held on the directory while waiting
    for a round's rows). Validation failures are not: those went to QuickBooks."""
    async with sessionmaker() as s:
        await sync_service.requeue_failed(s, queue, company_id, reason="directory", kinds=(Kind.MAPPING,))
        await commit_and_flush(s, queue)


async def audit_links(session: AsyncSession, integration_id: uuid.UUID, company_id: uuid.UUID,
                      links: list[dict[str, Any]], *, job_id: uuid.UUID | None, actor: str) -> None:
    """One audit row per QuickBooks record the import linked to an existing CrewFlow worker or project
    (by email or by the matching rule), naming both and why."""
    await audit.record_many(session, [
        {"integration_id": integration_id, "company_id": company_id, "action": LINKED, "status": "success",
         "job_id": job_id, "actor": actor, "qbo_id": link["qboId"], "request_payload": link,
         **({"worker_id": uuid.UUID(link["crewflowId"])} if link["entityType"] == "Employee"
            else {"project_id": uuid.UUID(link["crewflowId"])})} for link in links])


async def refresh_books(session: AsyncSession, queue: JobQueue, integration_id: uuid.UUID, company_id: uuid.UUID,
                        rules: company_books.BookRules) -> int:
    """Preferences read again: store them, and queue again every timecard they no longer refuse (books
    reopened or the closing date moved earlier, tracking turned on). Returns how many."""
    await company_books.store_rules(session, integration_id, company_id, rules)
    return await sync_service.requeue_reopened(session, queue, company_id, close_date=rules.close_date,
                                               class_tracking=rules.class_tracking,
                                               department_tracking=rules.department_tracking)


async def _read_books(client: CompanyClient, at: datetime) -> company_books.BookRules | None:
    """The company's preferences; a refusal QBO will not change (a company without them) does not fail the
    import, a transient failure does (the import is retried)."""
    try:
        return await company_books.read(client, at)
    except QboError as exc:
        if exc.resolution.retryable:
            raise
        logger.warning("could not read the QuickBooks preferences: %s", describe(exc))
        return None


async def _claim(sessionmaker: async_sessionmaker[AsyncSession], cid: uuid.UUID, job_id: uuid.UUID | None,
                 trigger: str | None, now: datetime) -> tuple[uuid.UUID, str, datetime | None, datetime, str, int] | None:
    async with sessionmaker() as s:
        integ = await get_integration(s, cid)
        job = await s.get(SyncJob, job_id, with_for_update=True) if job_id else None
        if job is not None and (job.company_id != cid or job.kind != KIND):
            logger.warning("directory import job id belongs to another company or kind; ignored")
            return None
        if job is not None and job.status in ("completed", "failed") and not sync_jobs.was_given_up(job):
            return None  # already ran (at-least-once delivery)
        if integ is None:
            logger.warning("directory import for a company without an integration row")
            return None
        cursor = await last_cursor(s, cid, exclude=job.id if job else None)
        if job is None:
            job = new_job(integ, trigger=trigger or ("cron" if cursor else "connect"))
            s.add(job)
        if integ.connection_status != "connected" or not integ.realm_id:
            job.status, job.completed_at = "failed", now
            job.errors = [{"message": NOT_CONNECTED}]
            await s.commit()
            return None
        if sync_jobs.was_given_up(job):  # given up as lost, yet its queue entry survived: it runs
            job.results, job.errors, job.completed_at = {}, [], None
        job.status, job.started_at = "running", now
        params = job.params or {}
        claimed = (job.id, integ.realm_id, cursor, now, str(params.get("mode", "auto")), int(params.get("attempt", 1)))
        await s.commit()
        return claimed


def describe(exc: Exception) -> str:
    if isinstance(exc, RealmChanged):
        return REALM_CHANGED
    if isinstance(exc, QboError):
        return f"QuickBooks: {exc.message}" + (f" ({exc.detail})" if exc.detail else "")
    return f"Internal error during the import ({type(exc).__name__}); it has been logged"


async def _fail(sessionmaker: async_sessionmaker[AsyncSession], queue: JobQueue, cid: uuid.UUID, job_id: uuid.UUID,
                exc: Exception, *, attempt: int, mode: str, calls: int, now: datetime) -> None:
    logger.warning("directory import failed: %s", describe(exc), exc_info=not isinstance(exc, QboError | RealmChanged))
    delay = RETRIES.delay(attempt) if isinstance(exc, QboError) and exc.resolution.retryable else None
    retry = delay is not None
    async with sessionmaker() as s:
        job = await s.get(SyncJob, job_id)
        integ = await get_integration(s, cid)
        if job is None or integ is None:
            return
        job.status, job.completed_at, job.qbo_calls = "failed", now, calls
        job.errors = [{"message": describe(exc), "willRetry": retry}]
        await audit.record(s, integration_id=integ.id, company_id=cid, action=KIND, status="failure",
                           job_id=job_id, actor=f"system:{job.trigger}", error_message=describe(exc))
        if retry:
            nxt = new_job(integ, trigger="retry", mode=mode, attempt=attempt + 1)
            s.add(nxt)
            queue.after_commit(s, FUNCTION, str(cid), str(nxt.id), _job_id=job_key(cid, nxt.id),
                               _defer_by=timedelta(seconds=delay or 0))
        await commit_and_flush(s, queue)


# ------------------------------------------------------------------------------------------ API side
async def queue_import(session: AsyncSession, queue: JobQueue, company_id: uuid.UUID, *, mode: str,
                       actor: str) -> SyncJob:
    """An admin asked for an import: a pending job row now, the arq job after the commit."""
    from qbo_integration.connections.service import require_connected

    integ = await require_connected(session, company_id)
    job = new_job(integ, trigger="admin", mode=mode)
    session.add(job)
    await session.flush()
    await audit.record(session, integration_id=integ.id, company_id=company_id, action="directory_import_requested",
                       status="success", job_id=job.id, actor=actor, request_payload={"mode": mode})
    job_id = job.id

    async def unqueued(s: AsyncSession) -> None:
        await sync_jobs.fail_unqueued(s, job_id, utc_now(), note=UNQUEUED_NOTE, as_error=True)

    queue.after_commit(session, FUNCTION, str(company_id), str(job.id), _job_id=job_key(company_id, job.id),
                       _if_unqueued=unqueued)
    return job


async def give_up_lost(session: AsyncSession, now: datetime) -> int:
    """Imports still pending long after they were queued (Redis lost its queue) are marked failed, saying
    why; the daily import still runs. Returns how many."""
    return await sync_jobs.fail_unstarted(session, now, kind=KIND, note=NEVER_STARTED_NOTE, as_error=True)


#: A pending import is queued again this long after it was queued (arq refuses a second entry of the same
#: job id while the first waits, so only a lost entry is replaced); given up only after NEVER_STARTED_AFTER.
REQUEUE_AFTER = timedelta(seconds=30)
#: An import still running this long after it started was cancelled by the queue's job timeout (600 s) or
#: its worker died: no import runs that long.
STALLED_AFTER = timedelta(minutes=12)
STALLED_NOTE = ("This import stopped: the worker running it stopped or it ran past its time. The daily import "
                "still runs; press Import to import now.")


async def requeue_lost(session: AsyncSession, queue: JobQueue, now: datetime) -> int:
    """Pending imports whose queue entry may be lost (a Redis restart) are queued again under their own job
    id; imports that stopped while running are marked failed. Returns how many were queued again."""
    if await sync_jobs.fail_stalled(session, now, kind=KIND, after=STALLED_AFTER, note=STALLED_NOTE):
        logger.warning("directory imports that stopped while running marked failed")
    waiting = await sync_jobs.waiting_since(session, now, kind=KIND, after=REQUEUE_AFTER)
    for job_id, company_id in waiting:
        queue.after_commit(session, FUNCTION, str(company_id), str(job_id), _job_id=job_key(company_id, job_id))
    return len(waiting)


async def get_job(session: AsyncSession, company_id: uuid.UUID, job_id: uuid.UUID) -> SyncJob | None:
    job = await session.get(SyncJob, job_id)
    return job if job is not None and job.company_id == company_id and job.kind == KIND else None


# ------------------------------------------------------------------------------ one record at a time
REFRESH_CHUNK = 100  # ids per `Id IN (...)` query


async def refresh_records(sessionmaker: async_sessionmaker[AsyncSession], qbo: QboApi, queue: JobQueue,
                          company_id: uuid.UUID, realm_id: str, changed: dict[str, set[str]],
                          deleted: dict[str, set[str]], *, mapped: MappedKeys) -> dict[str, Any]:
    """Re-read just these directory records from QBO and apply them like an import would (a webhook
    said they changed). A record QBO no longer returns and that was reported deleted is marked so."""
    client = qbo.company(company_id, realm_id)
    records: dict[str, list[QboEntity]] = {}
    for entity in fetching.ENTITIES:
        ids = sorted(i for i in changed.get(entity, set()) | deleted.get(entity, set()) if i.isdigit())
        found: list[QboEntity] = []
        for start in range(0, len(ids), REFRESH_CHUNK):
            chunk = ",".join(f"'{i}'" for i in ids[start:start + REFRESH_CHUNK])
            found += await client.query_all(f"SELECT * FROM {entity} WHERE Active IN (true, false) AND Id IN ({chunk})")
        seen = {str(e.to_qbo().get("Id")) for e in found}
        gone = [entity_model(entity).model_validate({"Id": i, "status": "Deleted"})
                for i in sorted(deleted.get(entity, set()) - seen) if i.isdigit()]
        if found or gone:
            records[entity] = found + gone
    if not records:
        return {"qboCalls": client.stats.calls, "records": 0}
    async with sessionmaker() as s:
        await lock(s, company_id)
        integ = await still_on_realm(s, company_id, realm_id)
        if integ is None:  # switched to another QuickBooks company meanwhile: these records are not its own
            logger.info("directory records of a previous QuickBooks company not applied")
            return {"qboCalls": client.stats.calls, "records": 0, "realmChanged": True}
        counts = await importer.apply(s, company_id, fetching.Fetched("webhook", records, complete=False), mapped)
        await audit_links(s, integ.id, company_id, counts.links, job_id=None, actor="system:webhook")
        await commit_and_flush(s, queue)
    await _requeue_mapping_failures(sessionmaker, queue, company_id)
    return {"qboCalls": client.stats.calls, "records": sum(len(v) for v in records.values()),
            **{k: v for k, v in counts.as_dict().items() if k in ("users", "projects")}}
