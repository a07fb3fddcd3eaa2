"""A reconciliation run: read QBO's TimeActivities (the last N days in full, plus everything changed since
the previous run), compare them with the outbox, repair what is ours to repair, report the rest.

Repairs: a duplicate we created is deleted in QBO; an orphan (QBO holds a timecard that is no longer
approved) and a missing record are handed back to the sync engine, which decides the write like any
other; a record changed in QBO by someone else becomes a drift finding for the admin. Every finding
is audited. Reads are metered by Intuit, so a run stops reading at its budget and says it is partial.

Three short transactions around the QBO calls: claim, (read QBO, delete duplicates), record.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.clock import utc_now
from qbo_integration.connections.service import get_integration, require_connected, still_on_realm
from qbo_integration.errors import NotFound
from qbo_integration.logs import log_context
from qbo_integration.monitoring import audit, read_budget, read_meter
from qbo_integration.qbo import QboApi, QboError
from qbo_integration.qbo import purpose as purposes
from qbo_integration.qbo.client import CompanyClient
from qbo_integration.qbo.errors import NotFoundError
from qbo_integration.qbo.purpose import reading_for
from qbo_integration.queue import RECONCILE_COMPANY, JobQueue
from qbo_integration.reconciliation import drift
from qbo_integration.reconciliation.compare import KINDS, Finding, compare
from qbo_integration.reconciliation.models import ReconciliationRun
from qbo_integration.sync import known
from qbo_integration.sync.nudge import nudge

logger = logging.getLogger(__name__)

FUNCTION = RECONCILE_COMPANY
REALM_CHANGED = ("QuickBooks company changed during this run: what it read from the previous company was not "
                 "recorded")
DEFERRED = ("deferred: the QuickBooks read budget (the company's daily reconciliation reads, or the app's "
            "monthly reads) is used up for now; the next nightly run reads what this one would have")
CURSOR_OVERLAP = timedelta(minutes=5)
ID_CHUNK = drift.ID_CHUNK


@dataclass(frozen=True)
class Budget:
    window_days: int
    max_reads: int  # one run
    daily_reads: int | None = None  # the company's runs of a UTC day together (RECONCILIATION_DAILY_READS)


async def _reads_allowed(redis: Redis | None, cid: uuid.UUID, budget: Budget) -> int:
    """What this run may read: its own budget, within what the company's day has left, and nothing when
    the app's monthly budget is nearly used up (read_budget: reconciliation is the first to wait)."""
    if redis is None:
        return budget.max_reads
    if not await read_budget.may_read(redis, cid, purposes.RECONCILIATION):
        return 0
    allowed = budget.max_reads
    if budget.daily_reads is not None:
        used = (await read_meter.company_day(redis, cid)).get(purposes.RECONCILIATION, 0)
        allowed = min(allowed, budget.daily_reads - used)
        if allowed <= 0:
            await read_meter.count_deferred(redis, cid, purposes.RECONCILIATION)
    return max(0, allowed)


def job_id(company_id: uuid.UUID, run_id: uuid.UUID) -> str:
    return f"reconcile:{company_id}:{run_id}"


async def queue_run(session: AsyncSession, queue: JobQueue, company_id: uuid.UUID, *, trigger: str,
                    window_days: int) -> ReconciliationRun:
    await require_connected(session, company_id)
    run = ReconciliationRun(id=uuid.uuid4(), company_id=company_id, trigger=trigger, status="pending",
                            window_days=window_days)
    session.add(run)
    await session.flush()
    queue.after_commit(session, FUNCTION, str(company_id), str(run.id), _job_id=job_id(company_id, run.id))
    return run


async def get_run(session: AsyncSession, company_id: uuid.UUID, run_id: uuid.UUID) -> ReconciliationRun:
    run = await session.get(ReconciliationRun, run_id)
    if run is None or run.company_id != company_id:
        raise NotFound("Reconciliation run not found")
    return run


async def latest_run(session: AsyncSession, company_id: uuid.UUID) -> ReconciliationRun | None:
    return (await session.execute(select(ReconciliationRun).where(ReconciliationRun.company_id == company_id)
                                  .order_by(ReconciliationRun.created_at.desc()).limit(1))).scalar_one_or_none()


async def _claim(sessionmaker: async_sessionmaker[AsyncSession], cid: uuid.UUID, run_id: uuid.UUID | None,
                 trigger: str, budget: Budget) -> tuple[uuid.UUID, str, datetime | None, datetime] | None:
    now = utc_now()
    async with sessionmaker() as s:
        integ = await get_integration(s, cid)
        run = await s.get(ReconciliationRun, run_id, with_for_update=True) if run_id else None
        if run is not None and (run.company_id != cid or run.status != "pending"):
            return None  # another company's, or already ran (arq is at-least-once)
        if run is None:
            run = ReconciliationRun(id=uuid.uuid4(), company_id=cid, trigger=trigger, window_days=budget.window_days)
            s.add(run)
        previous = (await s.execute(
            select(ReconciliationRun.started_at).where(ReconciliationRun.company_id == cid,
                                                       ReconciliationRun.status == "completed",
                                                       ReconciliationRun.complete.is_(True))
            .order_by(ReconciliationRun.started_at.desc()).limit(1))).scalar_one_or_none()
        if integ is None or integ.connection_status != "connected" or not integ.realm_id:
            run.status, run.completed_at, run.error = "failed", now, "QuickBooks is not connected"
            await s.commit()
            return None
        run.status, run.started_at, run.cursor = "running", now, previous
        claimed = (run.id, integ.realm_id, previous, now)
        await s.commit()
        return claimed


class _Reader:
    """Reads under the run's read budget (every QBO call here is a read, metered by Intuit)."""

    def __init__(self, client: CompanyClient, max_reads: int) -> None:
        self.client, self.max_reads, self.complete = client, max_reads, True
        self.records: dict[str, dict[str, Any]] = {}

    @property
    def reads(self) -> int:
        return self.client.stats.calls

    async def query(self, sql: str) -> None:
        async for ta in self.client.query(sql, page_size=1000):
            data = ta.to_qbo()
            self.records[str(data.get("Id"))] = data
            if self.reads >= self.max_reads:
                self.complete = False
                return

    async def read_ids(self, ids: list[str]) -> set[str]:
        """Of these ids, the ones QBO does not have."""
        absent: set[str] = set()
        for start in range(0, len(ids), ID_CHUNK):
            if self.reads >= self.max_reads:
                self.complete = False
                break
            chunk = ids[start:start + ID_CHUNK]
            found = await drift.read_many(self.client, chunk)
            self.records.update(found)
            absent |= set(chunk) - set(found)
        return absent


async def run(sessionmaker: async_sessionmaker[AsyncSession], qbo: QboApi, queue: JobQueue, redis: Redis,
              company_id: uuid.UUID | str, run_id: uuid.UUID | str | None, budget: Budget, *,
              trigger: str = "nightly") -> dict[str, Any]:
    cid = uuid.UUID(str(company_id))
    with log_context(company_id=cid, job_id=run_id):
        claimed = await _claim(sessionmaker, cid, uuid.UUID(str(run_id)) if run_id else None, trigger, budget)
        if claimed is None:
            return {"status": "skipped"}
        rid, realm, cursor, started = claimed
        allowed = await _reads_allowed(redis, cid, budget)
        reader = _Reader(qbo.company(cid, realm), allowed)
        if allowed <= 0:
            await _finish(sessionmaker, cid, rid, reader, [], realm, error=DEFERRED)
            return {"status": "deferred", "runId": str(rid), "error": DEFERRED}
        try:
            with reading_for(purposes.RECONCILIATION):
                findings = await _read_and_compare(sessionmaker, reader, cid, cursor, started, budget)
            await _delete_duplicates(reader.client, findings)
        except QboError as exc:
            await _finish(sessionmaker, cid, rid, reader, [], realm, error=f"QuickBooks: {exc.message}")
            return {"status": "failed", "runId": str(rid), "error": exc.message}
        try:
            requeued = await _finish(sessionmaker, cid, rid, reader, findings, realm)
            if requeued is None:
                return {"status": "failed", "runId": str(rid), "error": REALM_CHANGED}
        except Exception:  # the run must not stay `running` (and block nothing, but mislead) for ever
            logger.exception("reconciliation could not record its findings")
            await _finish(sessionmaker, cid, rid, reader, [], realm, error="the findings could not be recorded")
            raise
        if requeued:
            await nudge(redis, queue, cid)
        counts = {k: sum(1 for f in findings if f.kind == k) for k in KINDS}
        logger.info("reconciliation finished", extra={"fields": {"reads": reader.reads, **counts}})
        return {"status": "completed", "runId": str(rid), "reads": reader.reads, "records": len(reader.records),
                "complete": reader.complete, **counts}


async def _read_and_compare(sessionmaker: async_sessionmaker[AsyncSession], reader: _Reader, cid: uuid.UUID,
                            cursor: datetime | None, started: datetime, budget: Budget) -> list[Finding]:
    since_day: date = (started - timedelta(days=budget.window_days)).date()
    await reader.query(f"SELECT * FROM TimeActivity WHERE TxnDate >= '{since_day.isoformat()}'")
    if cursor is not None and reader.complete:
        stamp = (cursor - CURSOR_OVERLAP).replace(microsecond=0).isoformat()
        await reader.query(f"SELECT * FROM TimeActivity WHERE MetaData.LastUpdatedTime > '{stamp}'")
    async with sessionmaker() as s:
        owned = await known.owned_records(s, cid)
    recent = started - timedelta(days=budget.window_days)
    unseen = sorted(o.qbo_id for o in owned if o.qbo_id not in reader.records and o.settled and o.wanted
                    and o.synced_at is not None and o.synced_at >= recent)
    absent = await reader.read_ids(unseen) if reader.complete else set()
    return compare(reader.records, owned, absent)


async def _delete_duplicates(client: CompanyClient, findings: list[Finding]) -> None:
    for f in findings:
        if f.kind != "duplicate" or f.qbo_sync_token is None:
            continue
        try:
            await client.delete_time_activity(f.qbo_id, f.qbo_sync_token, request_id=f"recdup-{f.qbo_id}-{f.qbo_sync_token}")
            f.repair = "deleted in QuickBooks"
        except NotFoundError:
            f.repair = "already gone"


async def _finish(sessionmaker: async_sessionmaker[AsyncSession], cid: uuid.UUID, rid: uuid.UUID, reader: _Reader,
                  findings: list[Finding], realm: str, *, error: str | None = None) -> int | None:
    """Record the run and its findings; how many timecards went back to the sync, None when the company had
    switched QuickBooks company meanwhile (the run is recorded failed, its findings not at all)."""
    requeue: list[uuid.UUID] = []
    async with sessionmaker() as s:
        run = await s.get(ReconciliationRun, rid)
        assert run is not None
        # Held to the commit: findings of a previous QuickBooks company never land after a switch (its ids
        # may name the new company's records).
        integ = await still_on_realm(s, cid, realm)
        switched = integ is None and not error
        if switched:
            findings, error = [], REALM_CHANGED
        owned = {o.qbo_id: o for o in await known.owned_records(s, cid)}
        # drift.record locks each row; lock them all first, in order, as a sync round does.
        await known.lock_rows(s, cid, sorted({owned[f.qbo_id].timecard_id for f in findings
                                              if f.kind in ("drift", "missing") and f.qbo_id in owned}))
        for f in findings:
            o = owned.get(f.qbo_id)
            if f.kind in ("drift", "missing") and o is not None:
                outcome = await drift.record(s, cid, known.KnownRecord(o.timecard_id, o.qbo_id, o.sync_token,
                                                                       o.settled),
                                             f.view if f.kind == "drift" else None, source="reconciliation")
                f.repair = ("CrewFlow wrote this timecard meanwhile: looked at again by the next run"
                            if outcome == drift.Outcome.BUSY else "drift finding opened for the admin")
            elif f.kind == "orphan" and f.timecard_id is not None:
                requeue.append(f.timecard_id)
                f.repair = "handed back to the sync engine (delete)"
            if integ is not None:
                await audit.record(s, integration_id=integ.id, company_id=cid, action=f"reconcile_{f.kind}",
                                   status="failure", timecard_id=f.timecard_id, qbo_id=f.qbo_id,
                                   actor="system:reconciliation", error_message=f.message,
                                   response_payload={"repair": f.repair, "runId": str(rid)})
        n = await known.refresh_from_core(s, cid, requeue)
        run.status = "failed" if error else "completed"
        run.completed_at, run.error = utc_now(), error
        run.qbo_reads, run.records_read, run.complete = reader.reads, len(reader.records), reader.complete
        run.counts = {k: sum(1 for f in findings if f.kind == k) for k in KINDS}
        run.findings = [f.as_dict() for f in findings][:1000]
        await s.commit()
    return None if switched else n
