"""Issue 13's table: a create QBO committed but whose answer was lost, then one ordinary action.

Each test loses the answers with the sandbox's `commitThenDropRate`, runs the real engine (intake,
Sync Now, sync jobs) against the sandbox, and then compares QBO with Core: exactly one
TimeActivity per approved timecard carrying its current content, none for the others, and Core's
`sync_status`/`qbo_id` agreeing with QBO.
"""

from __future__ import annotations

from qbo_integration.sync import engine, intake, service
from tests.support import sync as h

_approve_batch = h.approve_days


async def _lose_answers(ctx, core, sandbox, realm: str) -> None:
    """One sync round whose writes QBO commits and whose answers are all lost."""
    await sandbox.put(f"/_sandbox/realms/{realm}/faults", json={"commitThenDropRate": 1.0})
    await engine.run_company_sync(ctx, core.company_id)
    await sandbox.delete(f"/_sandbox/realms/{realm}/faults")


async def _settle(ctx, core, clock) -> None:
    """Let every retry fall due and run jobs until nothing is left to do."""
    for _ in range(3):
        clock.advance(minutes=20)
        await engine.run_company_sync(ctx, core.company_id)


async def _check(sessionmaker, sandbox, realm: str, tids: list) -> dict:
    """QBO against Core. Returns {timecard id: its TimeActivity} for the approved ones."""
    tas = await h.activities(sandbox, realm)
    by_id = {t["Id"]: t for t in tas}
    approved = {}
    for tid in tids:
        tc = await h.core_timecard(sessionmaker, tid)
        r = await h.row(sessionmaker, tid)
        if tc is not None and tc.status == "approved":
            assert r.qbo_id in by_id, f"approved timecard {tid} has no TimeActivity"
            assert by_id[r.qbo_id]["Description"] == tc.notes, "QBO holds stale content"
            assert (tc.sync_status, tc.qbo_id) == ("synced", r.qbo_id)
            approved[tid] = by_id[r.qbo_id]
        elif tc is not None:
            assert (tc.sync_status, tc.qbo_id) == ("not_synced", None)
    assert len(tas) == len(approved), f"{len(tas)} TimeActivities for {len(approved)} approved timecards"
    return approved


async def test_lost_batch_then_one_member_edited(ctx, live, sessionmaker, sandbox, clock):
    cc, core = live
    tids = await _approve_batch(ctx, sessionmaker, core, 5)
    await _lose_answers(ctx, core, sandbox, cc.realm_id)
    assert len(await h.activities(sandbox, cc.realm_id)) == 5
    v2 = await h.change_timecard(sessionmaker, tids[2], notes="edited after the lost batch")
    await intake.handle_event(ctx, h.event("timecard.updated", core, tids[2], v2))
    await engine.run_company_sync(ctx, core.company_id)
    await _settle(ctx, core, clock)
    held = await _check(sessionmaker, sandbox, cc.realm_id, tids)
    assert len(held) == 5 and held[tids[2]]["Description"] == "edited after the lost batch"


async def test_lost_batch_then_sync_now_names_one_member(ctx, live, sessionmaker, sandbox, clock, arq_redis):
    cc, core = live
    tids = await _approve_batch(ctx, sessionmaker, core, 5)
    await _lose_answers(ctx, core, sandbox, cc.realm_id)
    async with sessionmaker() as s:
        job = await service.request_sync(s, ctx["queue"], core.company_id, [tids[1]], now=clock())
        await s.commit()
    await engine.run_company_sync(ctx, core.company_id, job.id, "sync_now")
    await _settle(ctx, core, clock)
    assert len(await _check(sessionmaker, sandbox, cc.realm_id, tids)) == 5


async def test_lost_batch_then_one_member_unapproved(ctx, live, sessionmaker, sandbox, clock):
    cc, core = live
    tids = await _approve_batch(ctx, sessionmaker, core, 5)
    await _lose_answers(ctx, core, sandbox, cc.realm_id)
    v2 = await h.change_timecard(sessionmaker, tids[0], status="submitted")
    await intake.handle_event(ctx, h.event("timecard.unapproved", core, tids[0], v2))
    await engine.run_company_sync(ctx, core.company_id)
    await _settle(ctx, core, clock)
    held = await _check(sessionmaker, sandbox, cc.realm_id, tids)
    assert set(held) == set(tids[1:])


async def test_lost_single_create_then_unapproved_leaves_no_orphan(ctx, live, sessionmaker, sandbox, clock):
    cc, core = live
    [tid] = await _approve_batch(ctx, sessionmaker, core, 1)
    await _lose_answers(ctx, core, sandbox, cc.realm_id)
    assert len(await h.activities(sandbox, cc.realm_id)) == 1
    v2 = await h.change_timecard(sessionmaker, tid, status="submitted")
    await intake.handle_event(ctx, h.event("timecard.unapproved", core, tid, v2))
    await engine.run_company_sync(ctx, core.company_id)
    await _settle(ctx, core, clock)
    assert await _check(sessionmaker, sandbox, cc.realm_id, [tid]) == {}
    assert (await h.row(sessionmaker, tid)).qbo_id is None


async def test_lost_batch_untouched_after_qbo_forgot_its_request_ids(ctx, live, sessionmaker, sandbox, clock):
    """QBO does not say how long it keeps a requestid: once it has forgotten, a resend creates again.
    The retry finds the records in QBO instead."""
    cc, core = live
    tids = await _approve_batch(ctx, sessionmaker, core, 4)
    await _lose_answers(ctx, core, sandbox, cc.realm_id)
    assert (await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/request-ids")).json()["forgotten"] > 0
    await _settle(ctx, core, clock)
    assert len(await _check(sessionmaker, sandbox, cc.realm_id, tids)) == 4


async def test_lost_batch_of_identical_timecards_adopts_each_record_once(ctx, live, sessionmaker, sandbox, clock):
    """Same worker, day, hours and notes: the look-up cannot tell them apart, and need not; each record
    is adopted by one timecard only."""
    cc, core = live
    tids = [await h.add_timecard(sessionmaker, core) for _ in range(3)]
    for tid in tids:
        await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    await _lose_answers(ctx, core, sandbox, cc.realm_id)
    assert (await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/request-ids")).json()["forgotten"] > 0
    v2 = await h.change_timecard(sessionmaker, tids[0], notes="the first one, edited")
    await intake.handle_event(ctx, h.event("timecard.updated", core, tids[0], v2))
    await _settle(ctx, core, clock)
    held = await _check(sessionmaker, sandbox, cc.realm_id, tids)
    assert len({t["Id"] for t in held.values()}) == 3


async def test_a_round_outliving_the_reclaim_delay_does_not_overwrite_a_row_another_job_took(
        ctx, live, sessionmaker, sandbox, clock, monkeypatch):
    """Job A sends, then stalls past its lease; job B takes the row over. A's write-back must leave
    B's row alone (B's claim, B's facts), and the row still ends with the one record A created."""
    from qbo_integration.sync import outbox_repository, policy, sender

    cc, core = live
    [tid] = await _approve_batch(ctx, sessionmaker, core, 1)
    real_send = sender.send
    taken: list = []

    async def send_then_stall(client, works):
        results = await real_send(client, works)
        if not taken:
            clock.advance(seconds=policy.LEASE.total_seconds() + 1)
            async with sessionmaker() as s:
                taken.extend(await outbox_repository.claim_due(s, core.company_id, worker="job-b", job_id=None, now=clock()))
                await s.commit()
        return results

    monkeypatch.setattr(sender, "send", send_then_stall)
    await engine.run_company_sync(ctx, core.company_id)
    assert [c.timecard_id for c in taken] == [tid]
    r = await h.row(sessionmaker, tid)
    assert (r.state, r.claimed_by) == ("in_flight", "job-b")
    assert r.claim_token == taken[0].claim_token
    monkeypatch.setattr(sender, "send", real_send)
    clock.advance(seconds=policy.LEASE.total_seconds() + 1)  # job B died too: its lease lapses
    await engine.run_company_sync(ctx, core.company_id)
    [ta] = await h.activities(sandbox, cc.realm_id)
    r = await h.row(sessionmaker, tid)
    assert (r.state, r.qbo_id) == ("synced", ta["Id"])
    assert len(await _check(sessionmaker, sandbox, cc.realm_id, [tid])) == 1


async def test_a_create_qbo_commits_after_the_client_gave_up_is_adopted_not_sent_again(
        live, sessionmaker, sandbox, sandbox_server, arq_redis, settings, clock):
    """QBO goes on with a request whose caller timed out. A look-up made soon after the timeout finds
    nothing yet; that is no proof the create never landed, so the entry stays until QBO's request timeout
    (plus a margin) after the last send, and the record is adopted once it shows up (a fresh create here was a duplicate: the 5,000-
    timecard fault campaign, where the loaded sandbox committed batches seconds after the client gave up)."""
    from qbo_integration.sync import policy

    cc, core = live
    api = h.make_api(sandbox_server.base_url, arq_redis, sessionmaker, settings, clock, timeout=0.5)
    ctx = h.make_ctx(sessionmaker=sessionmaker, arq_redis=arq_redis, api=api, clock=clock, settings=settings)
    try:
        [tid] = await _approve_batch(ctx, sessionmaker, core, 1)
        await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults",
                          json={"lateCommitRate": 1.0, "lateCommitSeconds": 2})
        await engine.run_company_sync(ctx, core.company_id)  # the client gives up after 0.5 s
        await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/faults")
        assert await h.activities(sandbox, cc.realm_id) == []  # QBO has not committed it yet
        clock.advance(seconds=policy.RETRIES.schedule[0] + 1)  # the retry is due: a look-up
        await engine.run_company_sync(ctx, core.company_id)
        r = await h.row(sessionmaker, tid)
        assert (r.state, r.pending_op) == ("pending", "create"), "a look-up too soon was taken as proof"
        await h.wait_for(lambda: h.activities(sandbox, cc.realm_id), timeout=30)  # QBO commits it now
        await _settle(ctx, core, clock)
        assert len(await _check(sessionmaker, sandbox, cc.realm_id, [tid])) == 1
    finally:
        await api.aclose()


async def test_lost_creates_over_many_days_are_settled_with_a_query_per_month_not_per_day(
        ctx, live, sessionmaker, sandbox, clock):
    """The 5,000-timecard fault run stalled: after a SIGKILL and a Redis restart hundreds of creates
    over hundreds of days were outstanding, each round looked them up with one query per TxnDate,
    and QBO's 500 calls a minute went on look-ups (30 % of them failing) instead of writes."""
    cc, core = live
    tids = await _approve_batch(ctx, sessionmaker, core, 20)  # 20 consecutive days, one batch
    await _lose_answers(ctx, core, sandbox, cc.realm_id)
    before = len(await h.sandbox_log(sandbox, cc.realm_id, queries=True))
    await _settle(ctx, core, clock)
    log = (await h.sandbox_log(sandbox, cc.realm_id, queries=True))[before:]
    lookups = [e for e in log if e["path"].endswith("/query")]
    assert 1 <= len(lookups) <= 2, f"{len(lookups)} look-ups for 20 lost creates over 20 days"
    assert len(await _check(sessionmaker, sandbox, cc.realm_id, tids)) == 20


async def test_a_round_stalled_before_sending_sends_nothing_once_another_job_has_settled_its_rows(
        ctx, live, sessionmaker, sandbox, clock, monkeypatch):
    """The 5,000-timecard fault campaign's duplicates: job A records its creates, then waits (for the
    limiter, a stalled worker) past the reclaim delay; job B takes the rows over, finds nothing in QBO
    and creates them; then A's sends go out too. A write is sent only while its round's lease is valid."""
    from qbo_integration.sync import nudge, policy, sender

    cc, core = live
    [tid] = await _approve_batch(ctx, sessionmaker, core, 1)
    real_send = sender.send
    stalled: list = []

    async def stall_then_send(client, works):
        if not stalled:
            stalled.append(True)
            # A's lease lapsed while it stalled, and B waits out what A may have sent before that
            clock.advance(seconds=(policy.LEASE + policy.may_apply_for()).total_seconds() + 1)
            await ctx["redis"].delete(nudge._k(core.company_id, "lock"))  # A's lock lapsed while it stalled
            monkeypatch.setattr(sender, "send", real_send)
            await engine.run_company_sync(ctx, core.company_id)  # job B
            assert len(await h.activities(sandbox, cc.realm_id)) == 1
        return await real_send(client, works)

    monkeypatch.setattr(sender, "send", stall_then_send)
    await engine.run_company_sync(ctx, core.company_id)  # job A
    await _settle(ctx, core, clock)
    assert len(await _check(sessionmaker, sandbox, cc.realm_id, [tid])) == 1


async def test_a_lost_delete_whose_resend_is_throttled_then_approved_again_unchanged(ctx, live, sessionmaker,
                                                                                     sandbox, clock, arq_redis):
    """The operations campaign (seed 67, on a loaded machine): QBO applied a delete whose answer was lost;
    its resend was answered 429, which applied nothing, and that answer cleared the ledger entry, so the
    earlier doubt was forgotten. Approved again with the same content, the timecard looked synced to the
    deleted record: Core said synced, QBO held nothing."""
    cc, core = live
    [tid] = await _approve_batch(ctx, sessionmaker, core, 1)
    await engine.run_company_sync(ctx, core.company_id)
    assert len(await h.activities(sandbox, cc.realm_id)) == 1
    v2 = await h.change_timecard(sessionmaker, tid, status="submitted")
    await intake.handle_event(ctx, h.event("timecard.unapproved", core, tid, v2))
    await _lose_answers(ctx, core, sandbox, cc.realm_id)  # the delete lands; its answer is lost
    assert await h.activities(sandbox, cc.realm_id) == []
    assert (await h.row(sessionmaker, tid)).pending_op == "delete"
    await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"throttleNextRequests": 1})
    clock.advance(minutes=20)
    await engine.run_company_sync(ctx, core.company_id)  # the resend: 429
    await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/faults")
    await arq_redis.delete(f"qbo:limit:{{{cc.realm_id}}}:pause")  # the realm's pause (Redis' clock) is over
    assert (await h.row(sessionmaker, tid)).pending_op == "delete", "the 429 erased the doubt of the lost delete"
    v3 = await h.change_timecard(sessionmaker, tid, status="approved")  # the same content as before
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, v3))
    clock.advance(seconds=61)
    await engine.run_company_sync(ctx, core.company_id)
    await _settle(ctx, core, clock)
    assert len(await _check(sessionmaker, sandbox, cc.realm_id, [tid])) == 1
