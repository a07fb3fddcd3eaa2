"""Outbox, intake, claims and the failure policy against real PostgreSQL (no QBO calls)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from qbo_integration.sync import intake, outbox, outbox_repository, outcome, policy
from qbo_integration.sync.models import TimecardSyncRecord as Row
from qbo_integration.sync.states import Kind
from qbo_integration.worker.queue import QUEUE_NAME
from tests.support import sync as h


async def _queued(arq_redis) -> int:
    return int(await arq_redis.zcard(QUEUE_NAME))


async def test_approved_event_creates_a_pending_row_and_one_job(ctx, live, sessionmaker, arq_redis):
    cc, core = live
    tid = await h.add_timecard(sessionmaker, core)
    ev = h.event("timecard.approved", core, tid, 1)
    await intake.handle_event(ctx, ev)
    r = await h.row(sessionmaker, tid)
    assert r is not None and (r.operation, r.state, r.timecard_version) == ("create", "pending", 1)
    assert (await h.core_timecard(sessionmaker, tid)).sync_status == "pending"
    assert await _queued(arq_redis) == 1
    # the same event again (another eventId, same content): nothing changes, no second job
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    again = await h.row(sessionmaker, tid)
    assert again.updated_at == r.updated_at and again.id == r.id
    assert await _queued(arq_redis) == 1


async def test_stale_event_and_company_without_live_sync_are_ignored(ctx, live, sessionmaker, arq_redis):
    cc, core = live
    tid = await h.add_timecard(sessionmaker, core)
    v2 = await h.change_timecard(sessionmaker, tid, notes="second")
    await intake.handle_event(ctx, h.event("timecard.updated", core, tid, v2))
    await h.change_timecard(sessionmaker, tid, status="submitted")  # v3 in Core, event not yet here
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))  # older than the row: ignored
    r = await h.row(sessionmaker, tid)
    assert (r.operation, r.timecard_version) == ("create", 2)

    await h.enable_live_sync(sessionmaker, core.company_id, enabled=False)
    other = await h.add_timecard(sessionmaker, core)
    await intake.handle_event(ctx, h.event("timecard.approved", core, other, 1))
    assert await h.row(sessionmaker, other) is None


async def test_unapproved_before_sync_settles_without_a_delete(ctx, live, sessionmaker):
    cc, core = live
    tid = await h.add_timecard(sessionmaker, core)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    v = await h.change_timecard(sessionmaker, tid, status="submitted")
    await intake.handle_event(ctx, h.event("timecard.unapproved", core, tid, v))
    r = await h.row(sessionmaker, tid)
    assert (r.operation, r.state) == ("none", "synced") and r.qbo_id is None
    assert (await h.core_timecard(sessionmaker, tid)).sync_status == "not_synced"


async def test_claims_skip_rows_another_job_holds(ctx, live, sessionmaker, clock):
    cc, core = live
    for _ in range(4):
        tid = await h.add_timecard(sessionmaker, core)
        await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    async with sessionmaker() as a, sessionmaker() as b:
        first = await outbox_repository.claim_due(a, core.company_id, worker="a", job_id=None, now=clock(), limit=2)
        second = await outbox_repository.claim_due(b, core.company_id, worker="b", job_id=None, now=clock(), limit=10)
        assert len(first) == 2 and len(second) == 2
        assert not {c.id for c in first} & {c.id for c in second}
        await a.commit()
        await b.commit()
    async with sessionmaker() as s:
        assert await outbox_repository.claim_due(s, core.company_id, worker="c", job_id=None, now=clock()) == []
        states = set((await s.execute(select(Row.state, Row.claimed_by))).all())
    assert states == {("in_flight", "a"), ("in_flight", "b")}


async def test_a_dead_workers_claim_is_taken_over(ctx, live, sessionmaker, clock):
    cc, core = live
    tid = await h.add_timecard(sessionmaker, core)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    async with sessionmaker() as s:
        assert len(await outbox_repository.claim_due(s, core.company_id, worker="dead", job_id=None, now=clock())) == 1
        await s.commit()
    async with sessionmaker() as s:
        assert await outbox_repository.claim_due(s, core.company_id, worker="w2", job_id=None,
                                      now=clock() + policy.LEASE - timedelta(seconds=1)) == []
        taken = await outbox_repository.claim_due(s, core.company_id, worker="w2", job_id=None,
                                       now=clock() + policy.LEASE + timedelta(seconds=1))
        assert [c.timecard_id for c in taken] == [tid]


def _claimed(row: Row) -> outbox.Claimed:
    return outbox.claimed_of(row)


def _fresh_row(clock: h.Clock) -> Row:
    return Row(id=uuid.uuid4(), company_id=uuid.uuid4(), timecard_id=uuid.uuid4(), operation="create",
               state="in_flight", timecard_version=1, attempts=0, next_attempt_at=clock())


def test_transient_failures_follow_the_schedule_then_dead(clock):
    r = _fresh_row(clock)
    expected = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
                timedelta(hours=4)]
    for n, wait in enumerate(expected, start=1):
        c = _claimed(r)
        r.state = "in_flight"
        state = outcome.failure(r, c, version=1, wanted="present", now=clock(), kind=Kind.TRANSIENT,
                                      message="HTTP 503", code="503")
        assert (state, r.attempts, r.next_attempt_at - clock()) == ("failed", n, wait)
    r.state = "in_flight"
    assert outcome.failure(r, _claimed(r), version=1, wanted="present", now=clock(),
                                 kind=Kind.TRANSIENT, message="HTTP 503", code="503") == "dead"
    assert r.last_error == "HTTP 503"


def test_validation_fails_at_once_and_waits_do_not_use_attempts(clock):
    r = _fresh_row(clock)
    assert outcome.failure(r, _claimed(r), version=1, wanted="present", now=clock(),
                                 kind=Kind.VALIDATION, message="Invalid Reference Id", code="2500") == "failed"
    assert (r.attempts, r.error_kind) == (0, Kind.VALIDATION)
    w = _fresh_row(clock)
    w.attempts = 2
    assert outcome.failure(w, _claimed(w), version=1, wanted="present", now=clock(), kind=Kind.WAIT,
                                 message="breaker open", code=None) == "pending"
    assert w.attempts == 2 and w.next_attempt_at == clock()


async def _claim_then_change(ctx, core, sessionmaker, clock, event: str, **change):
    """A timecard approved and claimed for sending, then changed (and its event handled) mid-send."""
    tid = await h.add_timecard(sessionmaker, core)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    async with sessionmaker() as s:
        [claimed] = await outbox_repository.claim_due(s, core.company_id, worker="a", job_id=None, now=clock())
        entry = outbox.Entry("create", "rid-1", "fp-1", 1, {"TxnDate": "2026-03-02"})
        assert await outbox_repository.record_outstanding(s, {claimed.id: (claimed.claim_token, entry)}, clock(), "1") == {claimed.id}
        await s.commit()
    v2 = await h.change_timecard(sessionmaker, tid, **change)
    await intake.handle_event(ctx, h.event(event, core, tid, v2))
    return tid, claimed


async def test_an_edit_during_the_send_is_not_lost(ctx, live, sessionmaker, clock):
    cc, core = live
    tid, claimed = await _claim_then_change(ctx, core, sessionmaker, clock, "timecard.updated",
                                            notes="edited while sending")
    async with sessionmaker() as s:
        r = await outbox_repository.lock_row(s, tid)
        assert (r.state, r.timecard_version) == ("in_flight", 2)
        outcome.now_holds(r, "14", "0", 1, None, clock())
        outbox.clear_outstanding(r)
        outcome.success(r, claimed, version=1, fingerprint=None, wanted="present", now=clock())
        assert (r.state, r.operation, r.synced_version, r.qbo_id) == ("pending", "update", 1, "14")
        await s.commit()


async def test_unapproved_during_a_create_deletes_after_it_lands(ctx, live, sessionmaker, clock):
    cc, core = live
    tid, claimed = await _claim_then_change(ctx, core, sessionmaker, clock, "timecard.unapproved",
                                            status="submitted")
    async with sessionmaker() as s:
        r = await outbox_repository.lock_row(s, tid)
        assert r.operation == "settle"  # the create may be landing: its outcome first, then the delete
        outcome.now_holds(r, "15", "0", 1, None, clock())
        outbox.clear_outstanding(r)
        outcome.success(r, claimed, version=1, fingerprint=None, wanted="present", now=clock())
        assert (r.state, r.operation) == ("pending", "delete")
        await s.execute(update(Row).where(Row.id == r.id).values(state=r.state))
        await s.commit()
