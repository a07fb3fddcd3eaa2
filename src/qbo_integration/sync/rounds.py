"""The rounds of one company's sync job (CompanySync): claim due rows, prepare them (prepare.py), record
the ledger, send, write back; repeat until no row is due and no nudge arrived meanwhile.

Claims use `FOR UPDATE SKIP LOCKED`, so even two jobs that both believe they hold the company's lock never
push the same timecard. While the company's breaker is open, or its connection is lost, rows wait (no
attempt used) and the job makes no QBO call. While a round sends, the next one is claimed and prepared.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.connections import books as company_books
from qbo_integration.connections.books import BookRules
from qbo_integration.connections.models import Integration
from qbo_integration.connections.service import get_integration, is_connected
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.core_platform.views import CompanyView
from qbo_integration.qbo import CompanyClient, QboApi, QboError, writes_sent_by
from qbo_integration.sync import (
    claims_repository,
    jobs,
    nudge,
    outbox,
    outbox_repository,
    policy,
    sender,
    service,
    wakeups,
    writeback,
)
from qbo_integration.sync.context import JobContext
from qbo_integration.sync.lease import Leases
from qbo_integration.sync.models import SyncJob
from qbo_integration.sync.prepare import prepare
from qbo_integration.sync.story import events as story

logger = logging.getLogger(__name__)

# A job sends for at most this long, then hands over to a continuation job: a big backlog (QBO allows
# 500 timecards a minute) never runs into arq's job timeout, and a deploy never kills a long run.
JOB_BUDGET_SECONDS = 240.0
BATCHES_PER_MINUTE = 30  # of QBO's 40: leave room for other work (imports) in the same realm
MAX_ROUNDS = 1000
CLAIM_PER_ROUND = 300
# A job retrying timecards the books refused reads the preferences again unless they are this fresh.
BOOKS_FRESH = timedelta(seconds=60)


async def _batch_ok(redis: Any, company_id: uuid.UUID) -> bool:
    used = await redis.get(f"qbo:sync:batches:{company_id}:{int(time.time() // 60)}")
    return int(used or 0) < BATCHES_PER_MINUTE


async def _count_batches(redis: Any, company_id: uuid.UUID, n: int) -> None:
    if n:
        key = f"qbo:sync:batches:{company_id}:{int(time.time() // 60)}"
        async with redis.pipeline(transaction=False) as pipe:
            pipe.incrby(key, n)
            pipe.expire(key, 120)
            await pipe.execute()


@dataclass
class Taken:
    """A round's rows, claimed and prepared, not yet recorded in the ledger."""

    claimed: list[outbox.Claimed]
    rules: BookRules
    works: list[sender.Work]
    limit: int  # the claim's limit: fewer rows means none else was due then


class CompanySync:
    def __init__(self, ctx: JobContext, company_id: uuid.UUID, job: SyncJob) -> None:
        self.ctx = ctx
        self.sm: async_sessionmaker[AsyncSession] = ctx.sessionmaker
        self.redis = ctx.redis
        self.clock = ctx.clock
        self.api: QboApi = ctx.qbo
        self.mapper = ctx.mapper
        self.on_written = ctx.on_written
        self.company_id = company_id
        self.job = job
        self.worker = ctx.worker_name
        self.client: CompanyClient | None = None
        self.stop_reason: str | None = None
        self.continue_later = False
        self.paused = False  # a round stopped because QBO paused the realm (429): rows may still be due
        # Within the lock's expiry too (the fault campaign shortens it); the lock is renewed every round.
        self.deadline = time.monotonic() + min(JOB_BUDGET_SECONDS, nudge.LOCK_SECONDS * 0.8)
        self.lock_token: str | None = None
        self._reported = (0, 0, 0)
        self.first_round = True
        self.ahead: Taken | None = None  # the next round, claimed and prepared while this one sends
        self.books_reread = False  # this job read the preferences again before refusing from its copy
        self.leases = Leases(self.sm, self.clock)  # until when this job may send for the rows it holds
        self.watched = False
        self.loaded: tuple[Integration | None, CompanyView | None] | None = None  # read by load, used once
        self.drained = False  # the last claim took every row due then: the next claim is asked first
        self.next_due: tuple[datetime | None, datetime] | None = None  # (earliest retry, read at): rounds drained

    async def load(self) -> None:
        """Read the company's integration and Core company once for the job's preparation and first run."""
        async with self.sm() as s:
            self.loaded = (await get_integration(s, self.company_id), await CoreGateway(s).get_company(self.company_id))

    async def prepare_company(self, session: AsyncSession, company_id: uuid.UUID, now: datetime) -> int:
        """A Sync Now's preparation (jobs.prepare_once) on what load read."""
        integration, company = self.loaded or (None, None)
        known = (integration, company) if integration is not None and company is not None else None
        return await service.prepare_whole_company(session, company_id, now, known=known)

    async def run(self) -> None:
        loaded, self.loaded = self.loaded, None
        if loaded is None:
            await self.load()
            loaded, self.loaded = self.loaded, None
        assert loaded is not None
        integration, company = loaded
        self.drained, self.next_due = False, None
        if integration is None or company is None or not integration.enabled:
            self.stop_reason = "Live sync is not enabled for this company"
            return
        if not is_connected(integration):
            self.stop_reason = "QuickBooks is not connected: timecards wait until the company reconnects"
            return
        if self.client is None or self.client.realm_id != integration.realm_id:
            self.client = self.api.company(self.company_id, integration.realm_id or "")
        self.integration_id = integration.id
        self.start_date = integration.sync_start_date
        self.company = company
        await self._reread_books_if_retrying()
        self.leases.start()
        try:
            await self._rounds()
        finally:
            try:
                await self._give_back()
            finally:
                await self.leases.stop()

    async def _rounds(self) -> None:
        for rounds in range(MAX_ROUNDS):
            if rounds and time.monotonic() > self.deadline:
                self.continue_later = True
                return
            if self.lock_token:
                await nudge.renew(self.redis, self.company_id, self.lock_token)
            if await self._breaker_open():
                return
            dirty = await nudge.take_dirty(self.redis, self.company_id)
            if self.drained and not dirty and not await self._due_now():
                return
            summary = await self._round()
            if summary is None:
                return
            if summary.stop:
                self.stop_reason = summary.errors[-1]["message"] if summary.errors else \
                    "QuickBooks calls are paused for this company; timecards wait"
                self.paused = not await self._breaker_open()
                return

    async def _due_now(self) -> bool:
        """After a claim that took every row due then, with no nudge since: is a row due now (a retry that
        fell due, a row the round left due)? One statement, which also answers wakeups.schedule_retries."""
        now = self.clock()
        async with self.sm() as s:
            due, at = await outbox_repository.due_or_next(s, self.company_id, now)
        self.next_due = None if due else (at, now)
        return due

    async def _read_books(self) -> BookRules | None:
        """The company's preferences read again (no transaction open) and stored; None when QBO did not answer."""
        assert self.client is not None
        now = self.clock()
        try:
            rules = await company_books.read(self.client, now)
        except QboError as exc:
            logger.warning("could not read the QuickBooks preferences: %s", type(exc).__name__)
            return None
        async with self.sm() as s:
            await company_books.store_rules(s, self.integration_id, self.company_id, rules)
            await s.commit()
        return rules

    async def _reread_books_if_retrying(self) -> None:
        """Timecards the books refused were queued again (Sync Now, retry): decide on today's preferences,
        not on the copy that refused them (the books may have reopened since)."""
        async with self.sm() as s:
            due = await outbox_repository.has_pending_with_codes(s, self.company_id, policy.BOOKS_CODES)
            rules = await company_books.get_rules(s, self.company_id) if due else None
        if rules is not None and (rules.read_at is None or self.clock() - rules.read_at >= BOOKS_FRESH):
            await self._read_books()

    async def _explain_refusals(self, results: list[sender.Result], rules: BookRules) -> None:
        """QBO refused writes for a rule of the books (our copy of the preferences is stale): read them again,
        and give those timecards the books' message and code (not retried)."""
        if any(self.mapper.is_closed_refusal(r.error) for r in results):
            rules = await self._read_books() or rules
        for r in results:
            w = r.work
            body = w.payload or w.lookup_body() or {}
            day = str(body["TxnDate"]) if body.get("TxnDate") else \
                outbox.txn_date(self.company, w.timecard).isoformat() if w.timecard is not None else None
            explained = self.mapper.explain(r.error, rules, w.payload, day)
            if explained is not None:
                w.refusal = explained

    async def _breaker_open(self) -> bool:
        """Decided on the breaker's own clock (Redis TIME), as its admission is: a process whose clock
        is skewed neither sends into an open breaker nor waits on one that already let a trial through."""
        state = await self.api.breaker_state(self.company_id)
        if state.state == "open" and state.reopens_at and state.reopens_in:
            self.stop_reason = f"Circuit breaker open until {state.reopens_at.isoformat()}: timecards wait"
            wall = datetime.fromtimestamp(self.api.clock(), UTC)
            await nudge.nudge_later(self.ctx.queue, self.company_id, wall + timedelta(seconds=state.reopens_in),
                                    wall)
            return True
        return False

    async def _take(self, limit: int) -> Taken | None:
        """Claim up to `limit` due rows and prepare them (nothing recorded, nothing sent): a round's input."""
        now = self.clock()
        async with self.sm() as s:
            claimed = await outbox_repository.claim_due(s, self.company_id, worker=self.worker,
                                                        job_id=self.job.id, now=now, limit=limit)
            await s.commit()
        if not claimed:
            return None
        self.leases.hold(claimed[0].claim_token, now + policy.LEASE)
        try:
            if not self.watched:  # should this job die, a job comes for its rows (then one a lease, wakeups.holder_gone)
                self.watched = True
                await wakeups.watch_leases(self.ctx, self.company_id, now + policy.LEASE)
            async with self.sm() as s:
                rules = await company_books.get_rules(s, self.company_id)
                works = await prepare(s, self.mapper, self.company, claimed, self.start_date, rules,
                                      self.client.realm_id if self.client is not None else None)
            rules = await self._recheck_books_refusals(works, rules)
        except BaseException:
            await self._unclaim(claimed)
            raise
        return Taken(claimed, rules, works, limit)

    async def _recheck_books_refusals(self, works: list[sender.Work], rules: BookRules) -> BookRules:
        """Our copy of the preferences would refuse some of these before sending: read them again once per
        job (the books may have reopened inside QuickBooks since, and only an import re-reads them), and
        decide those again on what QuickBooks says now. Our copy stands when QuickBooks does not answer."""
        refused = [w for w in works if w.refusal is not None and w.refusal[0] in policy.BOOKS_CODES
                   and w.payload is not None]
        if not refused or self.books_reread:
            return rules
        self.books_reread = True
        fresh = await self._read_books()
        if fresh is None:
            return rules
        for w in refused:
            w.refusal = self.mapper.refusal(fresh, w.payload)
            w.mapping_error = w.refusal[1] if w.refusal is not None else None
        return fresh

    async def _give_back(self) -> None:
        """Unclaim the next round's rows taken ahead (the job stops before sending them)."""
        ahead, self.ahead = self.ahead, None
        if ahead is not None:
            await self._unclaim(ahead.claimed)

    async def _unclaim(self, claimed: list[outbox.Claimed]) -> None:
        """Give back rows this job still holds (a round cut short): their lease ends first, so a send still
        under way for them (a task the round left running) is refused; their ledger entries stay."""
        self.leases.drop(claimed[0].claim_token)
        async with self.sm() as s:
            await outbox_repository.unclaim(s, claimed, self.clock())
            await s.commit()

    async def _round(self) -> writeback.RoundSummary | None:
        taken, self.ahead = self.ahead, None
        if taken is None:
            # The job's first round is one batch: its first write goes out while the next round is prepared.
            taken = await self._take(min(sender.MAX_BATCH, CLAIM_PER_ROUND) if self.first_round else CLAIM_PER_ROUND)
        self.first_round = False
        if taken is None:
            return None
        claimed, rules, works = taken.claimed, taken.rules, taken.works
        assert self.client is not None
        ahead: asyncio.Task[Taken | None] | None = None
        try:
            now = self.clock()  # the ledger's time
            async with self.sm() as s:
                entries = sender.assign_request_ids(works, batch_ok=await _batch_ok(self.redis, self.company_id))
                recorded = await outbox_repository.record_outstanding(s, entries, now, self.client.realm_id)
                await story.record(s, story.sending(works, recorded, self.company_id, now,
                                                    realm_id=self.client.realm_id, job_id=self.job.id))
                await s.commit()  # the ledger is durable before anything is sent
            for w in works:
                w.recorded = w.claimed.id in recorded
            batches, _ = sender.plan_creates(works)
            await _count_batches(self.redis, self.company_id, len(batches))
            # While this round waits for QBO's pace, the next one is claimed and prepared (not recorded):
            # a round's boundary then costs no send slot.
            if len(claimed) >= taken.limit:
                ahead = asyncio.create_task(self._take(CLAIM_PER_ROUND), name="sync-take-ahead")
            with writes_sent_by(self.leases.send_by(claimed[0].claim_token)):  # see outcome.unknown_for_sure_at
                results = await sender.send(self.client, works)
            await self._explain_refusals(results, rules)
        except BaseException:
            await self._unclaim(claimed)
            if ahead is not None:
                ahead.cancel()
                got = (await asyncio.gather(ahead, return_exceptions=True))[0]
                if isinstance(got, Taken):
                    await self._unclaim(got.claimed)
            raise
        try:
            self.ahead = await ahead if ahead is not None else None
        finally:
            now = self.clock()
            async with self.sm() as s:
                summary = await writeback.apply_results(
                    s, integration_id=self.integration_id, company_id=self.company_id, job_id=self.job.id,
                    results=results, now=now)
                if summary.written and self.on_written is not None:
                    await self.on_written(s, self.company_id, summary.written)
                await jobs.add_round(s, self.job.id, claimed=len(claimed), summary=summary,
                                     cost=self._cost_since_last())
                await jobs.side_effects(s, self.company_id, summary, now)
                await claims_repository.close(s, {claimed[0].claim_token})
                await s.commit()
            self.leases.drop(claimed[0].claim_token)  # released by the write-back
        await writeback.publish(self.redis, summary.events)
        self.drained = self.ahead is None  # this claim (or the one taken ahead) took every row due then
        return summary

    def _cost_since_last(self) -> tuple[int, int, int]:
        """QBO calls, batches and retries since the last round (a continuation job has a new client)."""
        assert self.client is not None
        st = self.client.stats
        now = (st.calls, st.batches, st.retries)
        delta = (now[0] - self._reported[0], now[1] - self._reported[1], now[2] - self._reported[2])
        self._reported = now
        return delta
