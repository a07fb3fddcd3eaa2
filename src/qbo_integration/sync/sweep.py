"""The sweep (arq cron, every `sync_sweep_minutes`): re-derive the outbox from Core's tables.

Pub/sub keeps nothing for a subscriber that is down, so every lost event is found here: approved
timecards with no row or an older version than the row holds, rows still wanting QBO to hold a
timecard that is no longer approved, and retries that fell due. Companies with work get a job.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from redis.exceptions import LockError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration import logs
from qbo_integration.connections.models import Integration
from qbo_integration.connections.service import get_integration, live_integrations
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.core_platform.views import CompanyView
from qbo_integration.sync import core_status, jobs, nudge, outbox, outbox_repository
from qbo_integration.sync.context import JobContext
from qbo_integration.sync.states import Op, Wanted
from qbo_integration.sync.story import events as story

logger = logging.getLogger(__name__)
CHUNK = 500


async def changed_candidates(session: AsyncSession, company_id: uuid.UUID, start: date | None,
                             updated_since: datetime) -> tuple[list[uuid.UUID], set[uuid.UUID]]:
    """The same as outbox_repository.all_candidates, among the timecards Core changed since `updated_since`
    (read through the gateway, then their rows): work that grows with the change, not the history. A
    timecard deleted from Core leaves nothing changed to look at: the full pass finds it."""
    changed = await CoreGateway(session).timecards_changed_since(company_id, updated_since)
    if not changed:
        return [], set()
    rows = await outbox_repository.rows_of(session, company_id, [c.id for c in changed])
    floor = datetime.combine(start, time.min, UTC) if start is not None else None
    out, without_row = [], set()
    for c in changed:
        row = rows.get(c.id)
        approved = c.status == "approved" and (floor is None or c.clock_in >= floor)
        if approved and (row is None or row.timecard_version < c.version):
            out.append(c.id)
            if row is None:
                without_row.add(c.id)
        elif not approved and row is not None and (row.operation in (Op.CREATE, Op.UPDATE)
                                                   or (row.qbo_id and row.operation != Op.DELETE)):
            out.append(c.id)
    return out, without_row


async def rederive_company(session: AsyncSession, integration: Integration, now: datetime,
                            timecard_ids: list[uuid.UUID] | None = None, *,
                            updated_since: datetime | None = None, company: CompanyView | None = None) -> int:
    """Bring the company's rows in line with its timecards (all, those Core changed since
    `updated_since`, or the given ids). Returns rows changed; the work read grows with the change.
    `company`: Core's company when the caller read it already."""
    gateway = CoreGateway(session)
    company = company or await gateway.get_company(integration.company_id)
    if company is None:
        return 0
    await outbox_repository.lock_rederive(session, company.id)
    if timecard_ids is None:
        since = integration.sync_start_date - timedelta(days=1) if integration.sync_start_date else None
        candidate_ids, without_row = await (
            outbox_repository.all_candidates(session, company.id, since) if updated_since is None
            else changed_candidates(session, company.id, since, updated_since))
    else:
        candidate_ids, without_row = list(timecard_ids), set()
    candidate_ids = sorted(set(candidate_ids))  # outbox_repository.LOCK_ORDER
    changed = 0
    told: list[story.Row] = []  # the versions this pass found (one story INSERT)
    for start in range(0, len(candidate_ids), CHUNK):
        chunk = candidate_ids[start:start + CHUNK]
        timecards = await gateway.get_timecards(chunk)
        fresh = [timecards[t] for t in chunk if t in without_row and t in timecards and outbox.desire_of(
            company, timecards[t], integration.sync_start_date) is Wanted.PRESENT]
        await outbox_repository.insert_new(session, company.id, fresh, now)
        await gateway.set_sync_status_many([tc.id for tc in fresh], "pending")
        changed += len(fresh)
        told += [story.version(company.id, tc.id, tc, now) for tc in fresh]
        for tid in chunk:
            if tid in without_row:
                continue
            tc = timecards.get(tid)
            row, did = await outbox_repository.upsert_for_timecard(session, company, tid, tc, integration.sync_start_date, now)
            if did and row is not None:
                changed += 1
                told.append(story.version(company.id, tid, tc, now, known_version=row.timecard_version))
                if tc is not None:
                    await core_status.report(session, [row])
        if len(told) >= story.FLUSH_ROWS:  # a first pass over a long history: bounded statements
            await story.record(session, told)
            told = []
    await story.record(session, told)
    return changed


SWEEP_LOCK = "qbo:sync:sweep-lock"
SWEEP_LOCK_SECONDS = 600  # the cron job's timeout


def lock_seconds(ctx: JobContext) -> int:
    """The sweep lock's lifetime: the job's timeout, but short of the next sweep, so a lock whose
    worker died mid-sweep (SIGKILL, a crash on a Redis restart) never makes the next sweep skip. A
    Redis restart loses every queued job and nudge, and then the sweep is what wakes each company."""
    settings = ctx.settings
    minutes = int(getattr(settings, "sync_sweep_minutes", 15) or 15)
    return max(30, min(SWEEP_LOCK_SECONDS, minutes * 60 - 10))


async def sweep(job_ctx: dict[str, Any] | JobContext) -> dict[str, Any]:
    ctx = JobContext.of(job_ctx)
    """One sweep at a time across all workers: a second one (startup run, slow big backlog) skips."""
    lock = ctx.redis.lock(SWEEP_LOCK, timeout=lock_seconds(ctx))
    if not await lock.acquire(blocking=False):
        logger.info("sweep skipped: another worker is sweeping")
        return {"status": "skipped"}
    try:
        return await _sweep(ctx)
    finally:
        try:
            await lock.release()
        except LockError:  # it lapsed during a very long sweep; nothing to release
            logger.warning("sweep lock had lapsed before release")


# The sweep looks only at timecards Core changed since its last pass over the company (minus a
# margin for Core transactions that committed late), and every FULL_SWEEP_EVERY at all of them: that
# full pass also finds timecards deleted from Core whose event was lost. The marks live in Redis; when
# Redis lost them the next pass is a full one.
FULL_SWEEP_EVERY = timedelta(hours=6)
WATERMARK_MARGIN = timedelta(minutes=5)
_MARK_TTL = 2 * 24 * 3600


def _mark_key(company_id: uuid.UUID) -> str:
    return f"qbo:sync:swept:{company_id}"


async def _last_passes(redis: Any, company_id: uuid.UUID) -> tuple[datetime | None, datetime | None]:
    """(the last pass's start, the last full pass's start), on PostgreSQL's clock."""
    raw = {_text(k): _text(v) for k, v in (await redis.hgetall(_mark_key(company_id)) or {}).items()}
    return tuple(datetime.fromisoformat(raw[f]) if raw.get(f) else None for f in ("at", "full"))  # type: ignore[return-value]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class CompanyPass:
    changed: int  # rows brought in line
    full: bool  # every timecard was looked at (else only those Core changed since the last pass)
    started: datetime  # on PostgreSQL's clock, as Core's updated_at is
    last_full: datetime


async def sweep_company(session: AsyncSession, redis: Any, integration: Integration, now: datetime) -> CompanyPass:
    """One company's pass. The caller commits, then `remember_pass`es it (a pass that did not commit
    leaves the marks as they were, so the next pass covers its changes again)."""
    started = (await session.execute(select(func.now()))).scalar_one()
    last, last_full = await _last_passes(redis, integration.company_id)
    if last is None or last_full is None or started - last_full >= FULL_SWEEP_EVERY:
        changed = await rederive_company(session, integration, now)
        return CompanyPass(changed, True, started, started)
    changed = await rederive_company(session, integration, now, updated_since=last - WATERMARK_MARGIN)
    return CompanyPass(changed, False, started, last_full)


async def remember_pass(redis: Any, company_id: uuid.UUID, p: CompanyPass) -> None:
    key = _mark_key(company_id)
    await redis.hset(key, mapping={"at": p.started.isoformat(), "full": p.last_full.isoformat()})
    await redis.expire(key, _MARK_TTL)


async def _sweep(ctx: JobContext) -> dict[str, Any]:
    now = ctx.clock()
    sm = ctx.sessionmaker
    redis = ctx.redis
    async with sm() as s:
        companies = [i.company_id for i in await live_integrations(s)]
        lost_jobs = await jobs.fail_unstarted(s, now)
        await s.commit()
    if lost_jobs:
        logger.warning("sync jobs the queue lost marked failed", extra=logs.log_fields(count=lost_jobs))
    nudged, changed_total, full_passes = 0, 0, 0
    for company_id in companies:
        with logs.log_context(company_id=company_id):
            try:
                async with sm() as s:
                    integration = await get_integration(s, company_id)
                    if integration is None:
                        continue
                    done = await sweep_company(s, redis, integration, now)
                    due = done.changed > 0 or await outbox_repository.has_due(s, company_id, now)
                    await s.commit()
                await remember_pass(redis, company_id, done)
            except Exception:  # noqa: BLE001 - one company's trouble must not stop the others
                logger.exception("sweep failed for a company")
                continue
            changed_total += done.changed
            full_passes += int(done.full)
            if due:
                await nudge.nudge(ctx.redis, ctx.queue, company_id)
                nudged += 1
            if done.changed:
                logger.info("sweep found timecards the events missed", extra=logs.log_fields(count=done.changed))
    return {"companies": len(companies), "nudged": nudged, "changed": changed_total, "fullPasses": full_passes,
            "lostJobs": lost_jobs}
