"""Persist a verified delivery (dedupe by event id) and queue one processing job per company touched;
the events' claiming, finishing and the per-company turn of the job that works them off.

The request only writes rows and queues jobs, so it answers well inside Intuit's 3 seconds; the job
(`tasks.process_webhook_events`) reads QBO. A realm no company has connected is acknowledged and
dropped: there is nobody to act for.

Draining (docs/internal-contracts.md, "Webhook events"): one job per company works at a time (its
turn, a Redis key); it takes the company's oldest claimable events, up to CLAIM_BATCH, and queues
itself again while more wait, behind every job queued meanwhile, so one company's backlog never
holds another's events back. An event given back after a failed attempt rests RETRY_DELAY first
(RETRIES: 5 attempts, 60 s apart).
A cron queues a job for every company whose events wait, in case a job was lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.clock import utc_now
from qbo_integration.connections.service import realm_owner
from qbo_integration.db.bulk import insert_from_values
from qbo_integration.qbo import RetryPolicy
from qbo_integration.queue import PROCESS_WEBHOOK_EVENTS, JobQueue
from qbo_integration.reconciliation import service as reconciliation
from qbo_integration.webhooks.formats import ChangeEvent
from qbo_integration.webhooks.models import WebhookEvent

PROCESS_FUNCTION = PROCESS_WEBHOOK_EVENTS
CLAIM_BATCH = 500
INSERT_BATCH = 1000  # events an INSERT statement carries (one array parameter a column, whatever the count)
# A job holds the company's turn and its claimed events for LEASE, renewed each LEASE_RENEW while it is alive
# (webhooks/lease.py): the events of a job that died are taken again about a minute later, not ten.
LEASE = timedelta(seconds=60)
LEASE_RENEW = timedelta(seconds=20)
RETRIES = RetryPolicy.fixed(60, 60, 60, 60)
RETRY_DELAY = timedelta(seconds=RETRIES.schedule[0])
# An event that reaches us this late went through Intuit's retries: deliveries were failing, and some may
# never come. A reconciliation (at most one an hour per company) finds what they would have said.
GAP = timedelta(minutes=10)


@dataclass
class DeliveryOutcome:
    received: int
    stored: int
    duplicates: int
    unknown_realm: int

    def as_dict(self) -> dict[str, int]:
        return {"received": self.received, "stored": self.stored, "duplicates": self.duplicates,
                "unknownRealm": self.unknown_realm}


def _gen_key(company_id: uuid.UUID) -> str:
    return f"qbo:webhooks:gen:{company_id}"


async def job_id(redis: Redis, company_id: uuid.UUID) -> str:
    """The id of the company's next job: the same for every delivery, and for the job at work queueing
    its successor, until a job starts (`begin`): a company has at most one job waiting in the queue (a
    second would take another batch before another company's job got its turn). An id is never reused:
    the job of that id bumps the counter when it starts, so arq's kept result never drops a new job."""
    return f"webhooks:{company_id}:{int(await redis.get(_gen_key(company_id)) or 0)}"


async def begin(redis: Redis, company_id: uuid.UUID) -> None:
    """A job starts: deliveries from now on queue a job of a new id (this one is taken)."""
    await redis.incr(_gen_key(company_id))


async def record_delivery(session: AsyncSession, queue: JobQueue, redis: Redis,
                          events: list[ChangeEvent]) -> DeliveryOutcome:
    owners: dict[str, uuid.UUID | None] = {}
    for realm in {e.realm_id for e in events}:
        owners[realm] = await realm_owner(session, realm)
    unknown = sum(1 for e in events if owners[e.realm_id] is None)
    known = list({e.event_id: e for e in events if owners[e.realm_id] is not None}.values())
    stored: dict[uuid.UUID, list[uuid.UUID]] = {}
    if known:
        rows = [{"id": uuid.uuid4(), "event_id": e.event_id, "realm_id": e.realm_id,
                 "company_id": owners[e.realm_id], "entity": e.entity, "entity_id": e.entity_id,
                 "operation": e.operation, "occurred_at": e.occurred_at} for e in known]
        for start in range(0, len(rows), INSERT_BATCH):
            inserted = await session.execute(
                insert_from_values(WebhookEvent, rows[start:start + INSERT_BATCH])
                .on_conflict_do_nothing(index_elements=["event_id"])
                .returning(WebhookEvent.id, WebhookEvent.company_id))
            for event_pk, company_id in inserted.all():
                stored.setdefault(company_id, []).append(event_pk)
    for company_id in stored:
        queue.after_commit(session, PROCESS_FUNCTION, str(company_id), _job_id=await job_id(redis, company_id))
    now = utc_now()
    for late in {owners[e.realm_id] for e in known if e.occurred_at and now - e.occurred_at > GAP}:
        queue.after_commit(session, reconciliation.FUNCTION, str(late), None, "webhook_gap",
                           _job_id=f"reconcile:{late}:gap:{now:%Y%m%d%H}")
    n_stored = sum(len(v) for v in stored.values())
    return DeliveryOutcome(len(events), n_stored, len(events) - unknown - n_stored, unknown)


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Waiting and not resting after a failed attempt, or taken by a job that died mid-way."""
    return (((WebhookEvent.status == "pending")
             & (WebhookEvent.processed_at.is_(None) | (WebhookEvent.processed_at <= now - RETRY_DELAY)))
            | ((WebhookEvent.status == "processing") & (WebhookEvent.claimed_at < now - LEASE)))


async def claim(session: AsyncSession, company_id: uuid.UUID, *, now: datetime | None = None) -> list[WebhookEvent]:
    """Take this company's oldest claimable events, up to CLAIM_BATCH."""
    now = now or utc_now()
    stmt = (select(WebhookEvent).where(WebhookEvent.company_id == company_id, _claimable(now))
            .order_by(WebhookEvent.received_at, WebhookEvent.id).limit(CLAIM_BATCH)
            .with_for_update(skip_locked=True))
    rows = list((await session.execute(stmt)).scalars())
    for row in rows:
        row.status, row.claimed_at, row.attempts = "processing", now, row.attempts + 1
    return rows


async def waiting(session: AsyncSession, company_id: uuid.UUID, *, now: datetime | None = None) -> bool:
    """Whether this company has events a job could claim now."""
    now = now or utc_now()
    return bool((await session.execute(select(exists().where(WebhookEvent.company_id == company_id,
                                                             _claimable(now))))).scalar())


async def companies_waiting(session: AsyncSession, *, now: datetime | None = None,
                            limit: int = 1000) -> list[uuid.UUID]:
    """Companies with claimable events, the longest-waiting first."""
    now = now or utc_now()
    oldest = func.min(WebhookEvent.received_at)
    rows = await session.execute(select(WebhookEvent.company_id).where(_claimable(now))
                                 .group_by(WebhookEvent.company_id).order_by(oldest).limit(limit))
    return list(rows.scalars())


async def drop(session: AsyncSession, ids: list[uuid.UUID], reason: str, *, now: datetime | None = None) -> None:
    """Events never to act on: done, with the reason kept."""
    if ids:
        await session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(ids))
                              .values(status="done", processed_at=now or utc_now(), error=reason[:2000]))


def _turn_key(company_id: uuid.UUID) -> str:
    return f"qbo:webhooks:turn:{company_id}"


async def take_turn(redis: Redis, company_id: uuid.UUID, token: str) -> bool:
    """This job works off the company's events now (no other job does), for LEASE unless renewed."""
    return bool(await redis.set(_turn_key(company_id), token, nx=True, ex=int(LEASE.total_seconds())))


_RENEW_TURN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


async def renew_turn(redis: Redis, company_id: uuid.UUID, token: str) -> bool:
    """The turn is this job's for another LEASE; False when it is no longer its own (it lapsed)."""
    return bool(await redis.eval(_RENEW_TURN, 1, _turn_key(company_id), token,  # type: ignore[misc]
                                 str(int(LEASE.total_seconds()))))


async def renew_claims(session: AsyncSession, ids: list[uuid.UUID], now: datetime) -> None:
    """The job that claimed these events is alive: they stay its own for another LEASE."""
    if ids:
        await session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(ids),
                                                         WebhookEvent.status == "processing")
                              .values(claimed_at=now))


_END_TURN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


async def end_turn(redis: Redis, company_id: uuid.UUID, token: str) -> None:
    await redis.eval(_END_TURN, 1, _turn_key(company_id), token)  # type: ignore[misc]


async def finish(session: AsyncSession, ids: list[uuid.UUID], *, error: str | None = None,
                 now: datetime | None = None) -> None:
    """Mark events done; with an error, give them back (or fail them once RETRIES has no try left)."""
    if not ids:
        return
    now = now or utc_now()
    if error is None:
        await session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(ids))
                              .values(status="done", processed_at=now, error=None))
        return
    rows = (await session.execute(select(WebhookEvent).where(WebhookEvent.id.in_(ids)))).scalars()
    for row in rows:
        row.status = "failed" if RETRIES.delay(row.attempts) is None else "pending"
        row.error, row.processed_at = error[:2000], now

