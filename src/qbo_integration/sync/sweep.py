"""The sweep (arq cron, every `sync_sweep_minutes`): re-derive the outbox from Core's tables.

Pub/sub keeps nothing for a subscriber that is down, so every lost event is found here: approved
timecards with no row or an older version than the row holds, rows still wanting QBO to hold a
timecard that is no longer approved, and retries that fell due. Companies with work get a job.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import LockError
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration import logs
from qbo_integration.connections.models import Integration
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.sync import nudge, outbox, policy
from qbo_integration.sync.integrations import live_integrations
from qbo_integration.sync.models import TimecardSyncRecord as Row
from qbo_integration.sync.writeback import core_status

logger = logging.getLogger(__name__)
CHUNK = 500


async def reconcile_company(session: AsyncSession, integration: Integration, now: datetime,
                            timecard_ids: list[uuid.UUID] | None = None) -> int:
    """Bring the company's rows in line with its timecards (all, or the given ids). Returns rows changed."""
    gateway = CoreGateway(session)
    company = await gateway.get_company(integration.company_id)
    if company is None:
        return 0
    if timecard_ids is None:
        since = integration.sync_start_date - timedelta(days=1) if integration.sync_start_date else None
        approved = {tid: version for tid, version, _ in
                    await gateway.approved_timecard_versions(company.id, since=since)}
        held = {r[0]: (r[1], r[2], r[3]) for r in (await session.execute(
            select(Row.timecard_id, Row.timecard_version, Row.operation, Row.qbo_id).where(Row.company_id == company.id)
        )).all()}
        candidates = [tid for tid, v in approved.items() if tid not in held or held[tid][0] < v]
        candidates += [tid for tid, (_, op, qbo_id) in held.items()
                       if tid not in approved and (op in ("create", "update") or (qbo_id and op != "delete"))]
        without_row = {tid for tid in candidates if tid not in held}
    else:
        candidates = list(timecard_ids)
        without_row = set()
    changed = 0
    for start in range(0, len(candidates), CHUNK):
        chunk = candidates[start:start + CHUNK]
        timecards = await gateway.get_timecards(chunk)
        fresh = [timecards[t] for t in chunk if t in without_row and t in timecards and outbox.desire_of(
            company, timecards[t], integration.sync_start_date) is outbox.Desire.PRESENT]
        await outbox.insert_new(session, company.id, fresh, now)
        await gateway.set_sync_status_many([tc.id for tc in fresh], "pending")
        changed += len(fresh)
        for tid in chunk:
            if tid in without_row:
                continue
            tc = timecards.get(tid)
            row, did = await outbox.upsert_for_timecard(session, company, tid, tc, integration.sync_start_date, now)
            if did and row is not None:
                changed += 1
                if tc is not None:
                    await gateway.write_sync_result(tid, sync_status=core_status(row), qbo_id=row.qbo_id,
                                                    synced_at=row.synced_at if row.qbo_id else None)
    return changed


async def has_due(session: AsyncSession, company_id: uuid.UUID, now: datetime) -> bool:
    return bool((await session.execute(select(exists().where(outbox.due_condition(company_id, now))))).scalar())


SWEEP_LOCK = "qbo:sync:sweep-lock"
SWEEP_LOCK_SECONDS = 600  # the cron job's timeout: a crashed sweep's lock lapses by the next run


async def sweep(ctx: dict[str, Any]) -> dict[str, Any]:
    """One sweep at a time across all workers: a second one (startup run, slow big backlog) skips."""
    lock = ctx["redis"].lock(SWEEP_LOCK, timeout=SWEEP_LOCK_SECONDS)
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


async def _sweep(ctx: dict[str, Any]) -> dict[str, Any]:
    now = policy.clock_from(ctx)()
    sm = ctx["sessionmaker"]
    async with sm() as s:
        companies = [(i.id, i.company_id) for i in await live_integrations(s)]
    nudged, changed_total = 0, 0
    for integration_id, company_id in companies:
        with logs.log_context(company_id=company_id):
            try:
                async with sm() as s:
                    integration = await s.get(Integration, integration_id)
                    if integration is None:
                        continue
                    changed = await reconcile_company(s, integration, now)
                    due = changed > 0 or await has_due(s, company_id, now)
                    await s.commit()
            except Exception:  # noqa: BLE001 - one company's trouble must not stop the others
                logger.exception("sweep failed for a company")
                continue
            changed_total += changed
            if due:
                await nudge.nudge(ctx["redis"], ctx["queue"], company_id)
                nudged += 1
            if changed:
                logger.info("sweep found timecards the events missed", extra=logs.log_fields(count=changed))
    return {"companies": len(companies), "nudged": nudged, "changed": changed_total}
