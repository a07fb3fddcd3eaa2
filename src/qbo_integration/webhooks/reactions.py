"""Work off a company's stored webhook events: directory changes re-read just those records;
TimeActivity changes are checked for drift (drift.py). Events of a QuickBooks company other than the
one connected now (stored before the admin connected another) are dropped, never applied to it.

One job per company at a time (service.take_turn); it queues itself again while events wait.
Transactions are short and never span a QBO call: claim (commit), read QBO and apply, finish (commit).
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.connections.models import Integration
from qbo_integration.connections.service import get_integration
from qbo_integration.directory import import_flow
from qbo_integration.directory.importer import ENTITIES as DIRECTORY_ENTITIES
from qbo_integration.logs import log_context, log_fields
from qbo_integration.mapping.profiles import profile_targets
from qbo_integration.monitoring import audit, read_budget
from qbo_integration.qbo import QboApi, QboError
from qbo_integration.qbo import purpose as purposes
from qbo_integration.qbo.purpose import reading_for
from qbo_integration.queue import JobQueue
from qbo_integration.reconciliation import drift, versions
from qbo_integration.webhooks import service
from qbo_integration.webhooks.lease import Turn, renewing
from qbo_integration.webhooks.models import WebhookEvent

logger = logging.getLogger(__name__)


def _group(events: list[WebhookEvent]) -> tuple[dict[str, set[str]], dict[str, set[str]], list[WebhookEvent]]:
    """Directory ids changed / deleted per entity (the newest operation per record wins), and the
    TimeActivity events."""
    latest: dict[tuple[str, str], WebhookEvent] = {}
    time_events = []
    for ev in events:
        if ev.entity == "TimeActivity":
            time_events.append(ev)
        elif ev.entity in DIRECTORY_ENTITIES:
            key = (ev.entity, ev.entity_id)
            prev = latest.get(key)
            if prev is None or (ev.occurred_at or ev.received_at) >= (prev.occurred_at or prev.received_at):
                latest[key] = ev
    changed: dict[str, set[str]] = {}
    deleted: dict[str, set[str]] = {}
    for (entity, entity_id), ev in latest.items():
        (deleted if ev.operation == "Delete" else changed).setdefault(entity, set()).add(entity_id)
    return changed, deleted, time_events


def _seen(events: list[WebhookEvent]) -> dict[str, list[versions.Seen]]:
    """What the events said of each record (time and operation)."""
    out: dict[str, list[versions.Seen]] = {}
    for ev in events:
        out.setdefault(ev.entity_id, []).append(versions.Seen(ev.occurred_at, ev.operation))
    return out


DROPPED = "webhook_events_dropped"


async def _claim(sessionmaker: async_sessionmaker[AsyncSession], cid: uuid.UUID,
                 turn: Turn) -> tuple[list[WebhookEvent], Integration | None]:
    """The claimed events (held under `turn` from now), and the integration when QuickBooks is connected."""
    async with sessionmaker() as s:
        events = await service.claim(s, cid)
        integ = await get_integration(s, cid)
        await s.commit()
    turn.claimed = [e.id for e in events]
    connected = integ is not None and integ.connection_status == "connected" and integ.realm_id
    return events, integ if connected else None


async def _drop_foreign(sessionmaker: async_sessionmaker[AsyncSession], integ: Integration,
                        foreign: list[WebhookEvent]) -> None:
    """Events of a realm the company is no longer connected to: not applied to the realm it has now."""
    by_realm = Counter(e.realm_id for e in foreign)
    logger.warning("webhook events of another QuickBooks company dropped",
                   extra=log_fields(realms=dict(by_realm), connected_realm=integ.realm_id))
    async with sessionmaker() as s:
        await service.drop(s, [e.id for e in foreign],
                           f"dropped: QuickBooks company {integ.realm_id} is connected now, not this event's")
        for realm, n in sorted(by_realm.items()):
            await audit.record(s, integration_id=integ.id, company_id=integ.company_id, action=DROPPED,
                               status="success", actor="system:webhook",
                               response_payload={"realmId": realm, "connectedRealmId": integ.realm_id, "events": n,
                                                 "reason": "the events name another QuickBooks company than the "
                                                           "connected one: never applied to it"})
        await s.commit()


async def process(sessionmaker: async_sessionmaker[AsyncSession], qbo: QboApi, queue: JobQueue, redis: Redis,
                  company_id: uuid.UUID | str) -> dict[str, Any]:
    cid = uuid.UUID(str(company_id))
    with log_context(company_id=cid):
        await service.begin(redis, cid)
        turn = uuid.uuid4().hex
        if not await service.take_turn(redis, cid, turn):
            return {"events": 0, "busy": True}  # the job at work looks for more when its turn ends
        try:
            async with renewing(Turn(sessionmaker, redis, cid, turn)) as held:
                result = await _work_off(sessionmaker, qbo, queue, cid, held)
        finally:
            await service.end_turn(redis, cid, turn)
        # After the turn ended: an event stored while it ran, whose own job found the turn taken, is seen here.
        async with sessionmaker() as s:
            more = await service.waiting(s, cid)
        if more:
            await queue.enqueue(service.PROCESS_FUNCTION, str(cid), _job_id=await service.job_id(redis, cid))
        return {**result, "more": more}


async def _work_off(sessionmaker: async_sessionmaker[AsyncSession], qbo: QboApi, queue: JobQueue,
                    cid: uuid.UUID, turn: Turn) -> dict[str, Any]:
    events, integ = await _claim(sessionmaker, cid, turn)
    if not events:
        return {"events": 0}
    ids = [e.id for e in events]
    if integ is None or integ.realm_id is None:  # disconnected since: nothing to read, nothing to act for
        async with sessionmaker() as s:
            await service.finish(s, ids)
            await s.commit()
        return {"events": len(ids), "skipped": "not connected"}
    realm = integ.realm_id
    foreign = [e for e in events if e.realm_id != realm]
    if foreign:
        await _drop_foreign(sessionmaker, integ, foreign)
        events = [e for e in events if e.realm_id == realm]
        ids = [e.id for e in events]
    dropped = {"dropped": len(foreign)} if foreign else {}
    if not events:
        return {"events": len(foreign), **dropped}
    changed, deleted, time_events = _group(events)
    if changed and not await read_budget.may_read(qbo.redis, cid, purposes.DIRECTORY_REFRESH):
        changed = {}  # the daily CDC call finds them once the budget allows (deleted ones need no read)
    try:
        with reading_for(purposes.DIRECTORY_REFRESH):
            result = await import_flow.refresh_records(sessionmaker, qbo, queue, cid, realm, changed, deleted,
                                                      mapped=profile_targets)
    except QboError as exc:
        logger.warning("webhook directory refresh failed: %s", exc.message)
        async with sessionmaker() as s:
            await service.finish(s, ids, error=f"QuickBooks: {exc.message}")
            await s.commit()
        if exc.resolution.retryable:
            await queue.enqueue(service.PROCESS_FUNCTION, str(cid), _job_id=f"webhooks:{cid}:retry:{min(ids)}",
                                _defer_by=service.RETRY_DELAY)
        return {"events": len(ids) + len(foreign), "error": exc.message, **dropped}
    client = qbo.company(cid, realm)
    outcomes: dict[str, drift.Outcome] = {}
    try:
        outcomes = await drift.check_many(sessionmaker, client, cid, _seen(time_events), source="webhook")
    except QboError as exc:  # the events wait for the retry
        logger.warning("webhook drift check failed: %s", exc.message)
    waiting = [e.id for e in time_events if outcomes.get(e.entity_id) in (None, drift.Outcome.BUSY)]
    async with sessionmaker() as s:
        await service.finish(s, [i for i in ids if i not in set(waiting)])
        await service.finish(s, waiting, error="waiting for our own write to QuickBooks to settle")
        await s.commit()
    if waiting:
        await queue.enqueue(service.PROCESS_FUNCTION, str(cid), _job_id=f"webhooks:{cid}:wait:{min(waiting)}",
                            _defer_by=service.RETRY_DELAY)
    counted = {o.value: sum(1 for v in outcomes.values() if v == o) for o in set(outcomes.values())}
    logger.info("webhook events processed", extra={"fields": {"events": len(ids), **result, **counted}})
    return {"events": len(ids) + len(foreign), "timeActivities": counted, **result, **dropped}
