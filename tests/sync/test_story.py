"""Each timecard's sync story, written by the sync core in the outbox's own transactions, through the real
sandbox: versions, decisions, attempts and QuickBooks' answers, waits, admin actions; and a round whose
write-back rolls back leaves no story of its answers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select, update

from qbo_integration.sync import engine, intake, service
from qbo_integration.sync.models import TimecardSyncRecord
from qbo_integration.sync.story.models import TimecardSyncEvent
from tests.support import sync as h


async def _story(sessionmaker, tid) -> list[TimecardSyncEvent]:
    """Oldest first."""
    async with sessionmaker() as s:
        return list((await s.execute(select(TimecardSyncEvent).where(TimecardSyncEvent.timecard_id == tid)
                                     .order_by(TimecardSyncEvent.id))).scalars())


def _kinds(events: list[TimecardSyncEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.code) for e in events]


async def _approve(ctx, sessionmaker, core, **kw) -> uuid.UUID:
    tid = await h.add_timecard(sessionmaker, core, **kw)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    return tid


async def _sync_with_faults(ctx, core, sandbox, realm: str, faults: dict[str, Any]) -> None:
    await sandbox.put(f"/_sandbox/realms/{realm}/faults", json=faults)
    try:
        await engine.run_company_sync(ctx, core.company_id)
    finally:
        await sandbox.delete(f"/_sandbox/realms/{realm}/faults")


async def test_create_update_delete_each_leave_their_story(ctx, live, sessionmaker, sandbox):
    cc, core = live
    tid = await _approve(ctx, sessionmaker, core)
    await engine.run_company_sync(ctx, core.company_id)
    [ta] = await h.activities(sandbox, cc.realm_id)
    events = await _story(sessionmaker, tid)
    assert _kinds(events) == [("version", "approved"), ("decision", "create"), ("attempt", "create")]
    version, decision, attempt = events
    assert version.facts["version"] == 1 and version.facts["fields"]["worker"]["name"] == "Emily Platt"
    assert decision.request_id and decision.request_id == attempt.request_id
    assert decision.facts["batchSize"] == 1 and "not in QuickBooks yet" in decision.facts["reason"]
    assert (attempt.facts["outcome"], attempt.facts["httpStatus"], attempt.facts["qboId"],
            attempt.facts["syncToken"]) == ("landed", 200, ta["Id"], "0")
    assert attempt.realm_id == cc.realm_id and attempt.job_id is not None

    v2 = await h.change_timecard(sessionmaker, tid, notes="Framing, level 3", break_minutes=45)
    await intake.handle_event(ctx, h.event("timecard.updated", core, tid, v2))
    await engine.run_company_sync(ctx, core.company_id)
    v3 = await h.change_timecard(sessionmaker, tid, status="submitted")
    await intake.handle_event(ctx, h.event("timecard.unapproved", core, tid, v3))
    await engine.run_company_sync(ctx, core.company_id)
    events = (await _story(sessionmaker, tid))[3:]
    assert _kinds(events) == [("version", "approved"), ("decision", "update"), ("attempt", "update"),
                              ("version", "submitted"), ("decision", "delete"), ("attempt", "delete")]
    assert events[0].facts["fields"]["notes"] == "Framing, level 3"
    assert "differs from what QuickBooks holds (version 1" in events[1].facts["reason"]
    assert (events[2].facts["outcome"], events[2].facts["syncToken"]) == ("landed", "1")
    assert events[5].facts["outcome"] == "landed"


async def test_duplicate_events_add_no_version(ctx, live, sessionmaker):
    cc, core = live
    tid = await _approve(ctx, sessionmaker, core)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    assert _kinds(await _story(sessionmaker, tid)) == [("version", "approved")]


async def test_a_lost_answer_is_an_unknown_attempt_then_a_confirming_wait(ctx, live, sessionmaker, sandbox, clock):
    cc, core = live
    tid = await _approve(ctx, sessionmaker, core)
    await _sync_with_faults(ctx, core, sandbox, cc.realm_id, {"commitThenDropRate": 1.0})
    row = await h.row(sessionmaker, tid)
    events = await _story(sessionmaker, tid)
    assert _kinds(events)[-2:] == [("attempt", "create"), ("wait", "confirming")]
    attempt, wait = events[-2:]
    assert attempt.facts["mayHaveLanded"] is True and attempt.facts["httpStatus"] == 503
    assert row.pending_op == "create" and wait.facts["until"] is not None
    # the look-up adopts the record QBO committed: the story says so
    clock.advance(minutes=20)
    await engine.run_company_sync(ctx, core.company_id)
    [ta] = await h.activities(sandbox, cc.realm_id)
    events = await _story(sessionmaker, tid)
    lookups = [e for e in events if e.kind == "attempt" and e.code == "lookup"]
    assert [(e.facts["outcome"], e.facts["qboId"]) for e in lookups] == [("adopted", ta["Id"])]
    assert lookups[0].request_id == attempt.request_id  # the create it settled


async def test_a_throttled_create_waits_in_the_story(ctx, live, sessionmaker, sandbox, clock):
    cc, core = live
    tid = await _approve(ctx, sessionmaker, core)
    await _sync_with_faults(ctx, core, sandbox, cc.realm_id, {"throttleNextRequests": 1})
    row = await h.row(sessionmaker, tid)
    *_, attempt, wait = await _story(sessionmaker, tid)
    assert (attempt.kind, attempt.facts["httpStatus"], attempt.facts["outcome"]) == ("attempt", 429, "failed")
    assert (wait.kind, wait.code) == ("wait", "throttled")
    assert wait.facts["until"] == row.next_attempt_at.isoformat()


async def test_a_mapping_failure_is_a_decision_not_to_send(ctx, live, sessionmaker):
    cc, core = live
    tid = await _approve(ctx, sessionmaker, core, hours=0.25, break_minutes=30)  # break longer than the shift
    await engine.run_company_sync(ctx, core.company_id)
    *_, decision = await _story(sessionmaker, tid)
    assert (decision.kind, decision.code, decision.request_id) == ("decision", "not_sendable", None)
    assert decision.facts["reason"] == (await h.row(sessionmaker, tid)).last_error


async def test_admin_actions_are_in_the_story(ctx, live, sessionmaker):
    cc, core = live
    tid = await _approve(ctx, sessionmaker, core)
    async with sessionmaker() as s:
        await s.execute(update(TimecardSyncRecord).where(TimecardSyncRecord.timecard_id == tid)
                        .values(state="dead", attempts=6, last_error="HTTP 500"))
        await s.commit()
    async with sessionmaker() as s:
        assert await service.requeue_dead(s, ctx["queue"], core.company_id, [tid]) == 1
        await s.commit()
    async with sessionmaker() as s:
        await service.request_sync(s, ctx["queue"], core.company_id, [tid])
        await s.commit()
    events = await _story(sessionmaker, tid)
    assert _kinds(events)[1:] == [("admin", "requeue_dead"), ("admin", "sync_now")]
    assert events[1].facts == {"was": "dead"}


async def test_a_rolled_back_request_leaves_no_story(ctx, live, sessionmaker):
    cc, core = live
    tid = await _approve(ctx, sessionmaker, core)
    async with sessionmaker() as s:
        await s.execute(update(TimecardSyncRecord).values(state="dead", attempts=6))
        await s.commit()
    async with sessionmaker() as s:
        await service.requeue_dead(s, ctx["queue"], core.company_id, [tid])
        await s.rollback()
    assert _kinds(await _story(sessionmaker, tid)) == [("version", "approved")]
    assert (await h.row(sessionmaker, tid)).state == "dead"


class Boom(Exception):
    pass


async def test_a_write_back_that_rolls_back_leaves_no_answer_in_the_story(ctx, live, sessionmaker, sandbox):
    """The story and the outbox cannot disagree: the round's write-back fails after the story rows were
    written in its transaction, and neither its outbox changes nor its story rows remain."""
    cc, core = live
    tid = await _approve(ctx, sessionmaker, core)

    async def fail(*_: Any) -> None:
        raise Boom

    with pytest.raises(Boom):
        await engine.run_company_sync({**ctx, "on_written": fail}, core.company_id)
    row = await h.row(sessionmaker, tid)
    assert row.qbo_id is None and row.pending_op == "create", "the write-back's outbox changes rolled back"
    # the ledger's transaction committed its decision; the answer's transaction left nothing
    assert _kinds(await _story(sessionmaker, tid)) == [("version", "approved"), ("decision", "create")]


async def test_the_retention_job_keeps_400_days(ctx, live, sessionmaker, settings):
    from datetime import timedelta

    from qbo_integration.monitoring import tasks
    from qbo_integration.services import build_services

    cc, core = live
    tid = await _approve(ctx, sessionmaker, core)
    [kept] = await _story(sessionmaker, tid)
    async with sessionmaker() as s:
        s.add(TimecardSyncEvent(company_id=core.company_id, timecard_id=tid, at=kept.at - timedelta(days=401),
                                kind="admin", code="sync_now", facts={}))
        s.add(TimecardSyncEvent(company_id=core.company_id, timecard_id=tid, at=kept.at - timedelta(days=399),
                                kind="admin", code="sync_now", facts={}))
        await s.commit()
    services = await build_services(settings, sessionmaker, ctx["redis"], ctx["queue"])
    try:
        await tasks.purge_audit_log({"sessionmaker": sessionmaker, "settings": settings, "services": services})
    finally:
        await services.aclose()
    ages = sorted(round((kept.at - e.at).days) for e in await _story(sessionmaker, tid))
    assert ages == [0, 399]
