"""A timecard's sentence (sync/story/explain.py) for the rows the real engine leaves behind, through the
sandbox's faults and closed books: no "confirming" where nothing is confirmed, and the same "until" as
health's reason for the timecard (sync/waits.py)."""

from __future__ import annotations

import asyncio
import uuid
from zoneinfo import ZoneInfo

from qbo_integration.sync import engine, intake, outcome, waits
from qbo_integration.sync.story import service as story_service
from qbo_integration.sync.story.explain import Explained, SyncState
from qbo_integration.sync.story.models import StoryKind
from qbo_integration.sync.story.repository import page
from tests.support import sync as h

ZONE = ZoneInfo("America/Denver")  # the test company's


async def _said(ctx, core, tid: uuid.UUID) -> tuple[Explained, waits.TimecardWait]:
    """The timecard's sentence and health's reason for it, at the test clock's now."""
    sm, now = ctx["sessionmaker"], ctx["clock"]()
    async with sm() as s:
        said = (await story_service.explain_many(s, ctx["qbo"], core.company_id, [tid], now=now))[tid]
        wctx = await waits.read_context(s, ctx["qbo"], core.company_id, now)
        reason = (await waits.timecard_waits(s, wctx, core.company_id, [tid]))[tid]
    return said, reason


async def _last_wait(sessionmaker, core, tid):
    async with sessionmaker() as s:
        rows = await page(s, core.company_id, tid, before=None, limit=50, kind=StoryKind.WAIT)
    return rows[0] if rows else None


async def _approve(ctx, sessionmaker, core, **kw) -> uuid.UUID:
    tid = await h.add_timecard(sessionmaker, core, **kw)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    return tid


async def _sync_with_faults(ctx, core, sandbox, realm: str, faults: dict) -> None:
    await sandbox.put(f"/_sandbox/realms/{realm}/faults", json=faults)
    try:
        await engine.run_company_sync(ctx, core.company_id)
    finally:
        await sandbox.delete(f"/_sandbox/realms/{realm}/faults")


async def _lose_an_update(ctx, sessionmaker, core, sandbox, realm: str) -> uuid.UUID:
    """A synced timecard, edited; QuickBooks applies the update and its answer is lost."""
    tid = await _approve(ctx, sessionmaker, core)
    await engine.run_company_sync(ctx, core.company_id)
    v2 = await h.change_timecard(sessionmaker, tid, notes="edited")
    await intake.handle_event(ctx, h.event("timecard.updated", core, tid, v2))
    await _sync_with_faults(ctx, core, sandbox, realm, {"commitThenDropRate": 1.0})
    return tid


async def test_a_batch_quickbooks_refused_for_closed_books_says_not_sent_not_confirming(
        ctx, live, sessionmaker, sandbox, clock):
    """QuickBooks refused a batch of creates for its closed period (our copy of the books never read). The
    rows keep their ledger entries (a batch item's refusal is taken as "may have landed"), but nothing looks
    them up until someone acts: the sentence is the books', as health's reason is. Fails on 8e2c027
    ("Waiting: QuickBooks may already have the … attempt; confirming by …, nothing to do")."""
    cc, core = live
    await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/preferences",
                      json={"AccountingInfoPrefs": {"BookCloseDate": "2026-03-31"}})
    tids = [await _approve(ctx, sessionmaker, core) for _ in range(3)]
    await engine.run_company_sync(ctx, core.company_id)
    for tid in tids:
        r = await h.row(sessionmaker, tid)
        assert (r.state, r.error_kind, r.last_error_code) == ("failed", "validation", "books_closed")
        said, reason = await _said(ctx, core, tid)
        assert reason.reason == waits.Reason.BOOKS_CLOSED
        assert (said.state, said.sentence, said.until) == (
            SyncState.NOT_SENT, "Not sent: the books are closed through Mar 31 — export CSV or sync once reopened",
            None)
        assert await _last_wait(sessionmaker, core, tid) is None  # the story says no "confirming" either


async def test_a_lost_update_says_it_is_sent_again_at_its_retry(ctx, live, sessionmaker, sandbox, clock):
    """An update whose answer was lost names its record and SyncToken: it is sent again at the row's retry,
    no look-up. Fails on 8e2c027 ("confirming by" the settle bound, minutes after the resend)."""
    cc, core = live
    tid = await _lose_an_update(ctx, sessionmaker, core, sandbox, cc.realm_id)
    r = await h.row(sessionmaker, tid)
    assert (r.state, r.error_kind, r.operation, r.pending_op) == ("failed", "transient", "update", "update")
    said, reason = await _said(ctx, core, tid)
    assert reason.reason == waits.Reason.RETRY_SCHEDULED and reason.until == r.next_attempt_at
    assert said.state == SyncState.WAITING and said.until == r.next_attempt_at
    assert "confirming" not in said.sentence
    assert said.sentence.startswith("Waiting: QuickBooks' answer to the edit sent at ")
    assert said.sentence.endswith(" was lost; it is sent again at "
                                  f"{r.next_attempt_at.astimezone(ZONE):%H:%M} (try 2 of 6), nothing to do")
    wait = await _last_wait(sessionmaker, core, tid)
    assert (wait.code, wait.facts["until"]) == ("retry", r.next_attempt_at.isoformat())

    clock.now = r.next_attempt_at  # the retry resends it: in QuickBooks, once
    await engine.run_company_sync(ctx, core.company_id)
    said, _ = await _said(ctx, core, tid)
    assert said.state == SyncState.IN_QUICKBOOKS
    [ta] = await h.activities(sandbox, cc.realm_id)
    assert ta["Description"] == "edited"


async def test_a_create_being_sent_says_sending(ctx, live, sessionmaker, sandbox, clock):
    """Every write is in the ledger before it is sent: a row in flight is not "confirming". Fails on 8e2c027."""
    cc, core = live
    tid = await _approve(ctx, sessionmaker, core)
    await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"latencyMs": 1500})
    job = asyncio.create_task(engine.run_company_sync(ctx, core.company_id))
    try:
        async def in_flight():
            r = await h.row(sessionmaker, tid)
            return r if r.state == "in_flight" and r.pending_op else None
        await h.wait_for(in_flight, timeout=10)
        said, reason = await _said(ctx, core, tid)
        assert reason.reason == waits.Reason.SENDING
        assert (said.state, said.sentence.split(" (since")[0]) == (SyncState.SENDING, "Sending to QuickBooks now")
    finally:
        await job
        await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/faults")


async def test_a_lost_create_whose_lookup_fails_says_confirming_by_its_next_lookup(
        ctx, live, sessionmaker, sandbox, clock):
    """A lost create is looked up at the row's retry; when the look-up itself fails (no attempt spent), the
    next one is made later: the sentence's "confirming by" is health's until (the later of the settle
    bound and the next look-up), not the settle bound that has passed."""
    cc, core = live
    tid = await _approve(ctx, sessionmaker, core)
    await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"error500Rate": 1.0})
    try:
        await engine.run_company_sync(ctx, core.company_id)
        for minutes in (6, 10):  # the look-ups fail too: each is made again settle_after() later
            clock.advance(minutes=minutes)
            await engine.run_company_sync(ctx, core.company_id)
    finally:
        await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/faults")
    r = await h.row(sessionmaker, tid)
    assert (r.state, r.operation, r.attempts) == ("failed", "settle", 1)
    assert r.next_attempt_at > outcome.unknown_for_sure_at(r)
    said, reason = await _said(ctx, core, tid)
    assert reason.reason == waits.Reason.CONFIRMING and said.until == reason.until == r.next_attempt_at
    assert said.sentence.endswith(f"confirming by {r.next_attempt_at.astimezone(ZONE):%H:%M}, nothing to do")


async def test_a_timecard_deleted_in_crewflow_before_it_synced_is_not_sent(ctx, live, sessionmaker, sandbox, clock):
    """Deleted in Core before its event arrived: the next job sends nothing, so the sentence is not
    "queued for QuickBooks now"; once the job ran it says deleted, not "no longer approved"."""
    cc, core = live
    tid = await _approve(ctx, sessionmaker, core)
    await h.delete_timecard(sessionmaker, tid)
    said, _ = await _said(ctx, core, tid)
    assert (said.state, said.sentence) == (
        SyncState.NOT_SENT, "Not sent: the timecard is deleted in CrewFlow; approved time goes to QuickBooks")
    await engine.run_company_sync(ctx, core.company_id)
    assert await h.activities(sandbox, cc.realm_id) == []
    said, _ = await _said(ctx, core, tid)
    assert (said.state, said.sentence) == (SyncState.REMOVED, "Not in QuickBooks: the timecard was deleted in CrewFlow")


async def test_an_edit_unapproved_in_crewflow_before_it_went_says_the_removal(ctx, live, sessionmaker, sandbox, clock):
    cc, core = live
    tid = await _approve(ctx, sessionmaker, core)
    await engine.run_company_sync(ctx, core.company_id)
    v2 = await h.change_timecard(sessionmaker, tid, notes="edited")
    await intake.handle_event(ctx, h.event("timecard.updated", core, tid, v2))
    await h.change_timecard(sessionmaker, tid, status="submitted")  # its event not arrived yet
    said, _ = await _said(ctx, core, tid)
    assert said.sentence == "Waiting: the removal is queued for QuickBooks now"
    await engine.run_company_sync(ctx, core.company_id)
    assert await h.activities(sandbox, cc.realm_id) == []


async def test_a_lost_update_then_a_mapping_refusal_needs_you(ctx, live, sessionmaker, sandbox, clock):
    """A row refused for its mapping keeps the lost update's ledger entry, but nothing goes until the
    mapping is fixed: "Needs you", not "confirming". Fails on 8e2c027."""
    cc, core = live
    tid = await _lose_an_update(ctx, sessionmaker, core, sandbox, cc.realm_id)
    v3 = await h.change_timecard(sessionmaker, tid, break_minutes=600)  # a break longer than the shift
    await intake.handle_event(ctx, h.event("timecard.updated", core, tid, v3))
    clock.advance(seconds=40)
    await engine.run_company_sync(ctx, core.company_id)
    r = await h.row(sessionmaker, tid)
    assert (r.state, r.error_kind, r.pending_op) == ("failed", "mapping", "update")
    said, reason = await _said(ctx, core, tid)
    assert reason.reason == waits.Reason.NEEDS_MAPPING
    assert said.state == SyncState.NEEDS_YOU and said.sentence.startswith("Needs you: ")
    assert said.until is None
