"""The sync job against the sandbox over real HTTP, called directly (time moved by the test clock)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select

from qbo_integration.core_platform.events import channel
from qbo_integration.monitoring.models import AuditLogEntry
from qbo_integration.sync import engine, intake, jobs, rounds, sweep
from qbo_integration.sync.context import JobContext
from tests.qbo.helpers import age_breaker
from tests.support import sync as h


async def _sync(ctx, core) -> dict:
    return await engine.run_company_sync(ctx, core.company_id)


async def _approve(ctx, sessionmaker, core, **kw):
    tid = await h.add_timecard(sessionmaker, core, **kw)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    return tid


async def _audit(sessionmaker, tid) -> list[tuple[str, str]]:
    async with sessionmaker() as s:
        rows = (await s.execute(select(AuditLogEntry.action, AuditLogEntry.status)
                                .where(AuditLogEntry.timecard_id == tid).order_by(AuditLogEntry.created_at))).all()
    return [tuple(r) for r in rows]


async def test_approve_edit_unapprove_round_trip(ctx, live, sessionmaker, sandbox, redis):
    cc, core = live
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel("timecard.synced"))
    tid = await _approve(ctx, sessionmaker, core)
    result = await _sync(ctx, core)
    assert result["status"] == "completed" and result["synced"] == 1

    [ta] = await h.activities(sandbox, cc.realm_id)
    assert ta["TxnDate"] == "2026-03-02"
    # QBO restates the times in the realm's own zone: the instants are what we sent
    assert datetime.fromisoformat(ta["StartTime"]) == datetime.fromisoformat("2026-03-02T07:00:00-07:00")
    assert datetime.fromisoformat(ta["EndTime"]) == datetime.fromisoformat("2026-03-02T15:30:00-07:00")
    assert (ta["BreakHours"], ta["BreakMinutes"]) == (0, 30)
    assert ta["EmployeeRef"]["value"] == "1" and ta["CustomerRef"]["value"] == "1" and ta["ItemRef"]["value"] == "1"
    assert ta["BillableStatus"] == "Billable" and ta["Description"] == "Framing, level 2"
    r = await h.row(sessionmaker, tid)
    assert (r.state, r.qbo_id, r.synced_version) == ("synced", ta["Id"], 1)
    tc = await h.core_timecard(sessionmaker, tid)
    assert (tc.sync_status, tc.qbo_id) == ("synced", ta["Id"]) and tc.qbo_synced_at is not None
    msg = None
    for _ in range(50):
        msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if msg:
            break
    assert msg and json.loads(msg["data"])["timecardId"] == str(tid)
    await pubsub.aclose()

    v2 = await h.change_timecard(sessionmaker, tid, notes="Framing, level 3", break_minutes=45)
    await intake.handle_event(ctx, h.event("timecard.updated", core, tid, v2))
    await _sync(ctx, core)
    [ta2] = await h.activities(sandbox, cc.realm_id)
    assert ta2["Id"] == ta["Id"] and ta2["SyncToken"] == "1"
    assert ta2["Description"] == "Framing, level 3" and ta2["BreakMinutes"] == 45

    v3 = await h.change_timecard(sessionmaker, tid, status="submitted")
    await intake.handle_event(ctx, h.event("timecard.unapproved", core, tid, v3))
    await _sync(ctx, core)
    assert await h.activities(sandbox, cc.realm_id) == []
    [gone] = await h.activities(sandbox, cc.realm_id, deleted=True)
    assert gone["Id"] == ta["Id"] and gone["status"] == "Deleted"
    r = await h.row(sessionmaker, tid)
    assert (r.state, r.operation, r.qbo_id) == ("synced", "none", None)
    assert (await h.core_timecard(sessionmaker, tid)).sync_status == "not_synced"
    assert await _audit(sessionmaker, tid) == [("sync_timecard", "success"), ("update_timecard", "success"),
                                               ("delete_timecard", "success")]
    [job, *_] = await h.jobs_of(sessionmaker, core.company_id)
    assert (job.timecards_synced, job.qbo_calls, job.qbo_batches) == (1, 1, 0)


async def test_the_same_event_twice_makes_one_record(ctx, live, sessionmaker, sandbox):
    cc, core = live
    tid = await _approve(ctx, sessionmaker, core)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    await _sync(ctx, core)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    await _sync(ctx, core)
    assert len(await h.activities(sandbox, cc.realm_id)) == 1
    assert len(await _audit(sessionmaker, tid)) == 1


async def test_the_sweep_finds_lost_events(ctx, live, sessionmaker, sandbox):
    cc, core = live
    tid = await h.add_timecard(sessionmaker, core)  # approved, but its event never arrives
    early = await h.add_timecard(sessionmaker, core, start=h.DENVER_DAY - timedelta(days=10))
    async with sessionmaker() as s:
        from qbo_integration.sync.service import set_sync_start_date

        await set_sync_start_date(s, core.company_id, date(2026, 3, 1))
        await s.commit()
    out = await sweep.sweep(ctx)
    assert out["nudged"] == 1 and out["changed"] == 1
    await _sync(ctx, core)
    [ta] = await h.activities(sandbox, cc.realm_id)
    assert (await h.row(sessionmaker, tid)).qbo_id == ta["Id"]
    assert await h.row(sessionmaker, early) is None  # before the sync start date: never sent
    # the unapproval event is lost too: the sweep deletes it
    await h.change_timecard(sessionmaker, tid, status="submitted")
    assert (await sweep.sweep(ctx))["changed"] == 1
    await _sync(ctx, core)
    assert await h.activities(sandbox, cc.realm_id) == []
    assert (await sweep.sweep(ctx))["nudged"] == 0


async def test_a_job_past_its_time_budget_continues_in_a_new_job(ctx, live, sessionmaker, sandbox, monkeypatch,
                                                                 arq_redis):
    """A big backlog never runs into arq's job timeout: the job hands the same sync_jobs row to a new job."""
    cc, core = live
    monkeypatch.setattr(rounds, "JOB_BUDGET_SECONDS", 0.0)  # one round per job
    monkeypatch.setattr(rounds, "CLAIM_PER_ROUND", 1)
    for _ in range(2):
        await _approve(ctx, sessionmaker, core)
    first = await engine.run_company_sync(ctx, core.company_id)
    assert first["status"] == "continuing" and len(await h.activities(sandbox, cc.realm_id)) == 1
    queued = [k.decode() for k in await arq_redis.keys("arq:job:sync:*:cont:*")]
    assert len(queued) == 1 and str(core.company_id) in queued[0]
    job_id = uuid.UUID(first["jobId"])
    assert (await engine.run_company_sync(ctx, core.company_id, job_id))["status"] == "continuing"
    done = await engine.run_company_sync(ctx, core.company_id, job_id)  # finds nothing more due
    assert done["status"] == "completed" and done["synced"] == 2
    assert len(await h.activities(sandbox, cc.realm_id)) == 2
    [job] = await h.jobs_of(sessionmaker, core.company_id)
    assert (job.status, job.timecards_synced, job.qbo_calls) == ("completed", 2, 2)


async def test_only_one_sweep_runs_at_a_time(ctx, live, sessionmaker):
    _, core = live
    tid = await h.add_timecard(sessionmaker, core)
    held = ctx["redis"].lock(sweep.SWEEP_LOCK, timeout=30)
    assert await held.acquire(blocking=False)
    try:
        assert await sweep.sweep(ctx) == {"status": "skipped"}
        assert await h.row(sessionmaker, tid) is None  # the skipped sweep changed nothing
    finally:
        await held.release()
    assert (await sweep.sweep(ctx))["changed"] == 1
    assert await ctx["redis"].get(sweep.SWEEP_LOCK) is None  # released after the run


async def test_two_jobs_racing_on_one_company_push_each_timecard_once(ctx, live, sessionmaker, sandbox, api, clock,
                                                                      arq_redis, settings):
    cc, core = live
    tids = [await _approve(ctx, sessionmaker, core, start=h.DENVER_DAY + timedelta(days=i)) for i in range(24)]
    other = h.make_ctx(sessionmaker=sessionmaker, arq_redis=arq_redis, api=api, clock=clock, settings=settings,
                       worker="other-worker")
    # Two whole jobs (the company lock lets one send), then two job bodies without the lock (claims decide).
    await asyncio.gather(_sync(ctx, core), _sync(other, core))
    more = [await _approve(ctx, sessionmaker, core, start=h.DENVER_DAY - timedelta(days=i + 1)) for i in range(24)]
    job_a = await jobs.start(sessionmaker, core.company_id, None, "test", clock())
    job_b = await jobs.start(sessionmaker, core.company_id, None, "test", clock())
    await asyncio.gather(rounds.CompanySync(JobContext.of(ctx), core.company_id, job_a).run(),
                         rounds.CompanySync(JobContext.of(other), core.company_id, job_b).run())
    tas = await h.activities(sandbox, cc.realm_id)
    assert len(tas) == 48 and len({t["Id"] for t in tas}) == 48
    for tid in tids + more:
        assert (await h.row(sessionmaker, tid)).state == "synced"


async def test_commit_then_drop_faults_leave_one_record_each(ctx, live, sessionmaker, sandbox, clock):
    cc, core = live
    tids = [await _approve(ctx, sessionmaker, core, start=h.DENVER_DAY + timedelta(days=i)) for i in range(12)]
    r = await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"commitThenDropRate": 0.4, "seed": 7})
    assert r.status_code == 200
    for _ in range(5):
        await _sync(ctx, core)
        clock.advance(minutes=20)
    await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/faults")
    for _ in range(3):
        await _sync(ctx, core)
        clock.advance(hours=5)
    log = await h.sandbox_log(sandbox, cc.realm_id, queries=True)
    assert any(e["note"] == "commit-then-drop" for e in log)
    assert any(e["path"].endswith("/query") for e in log)  # lost creates were looked up, not sent again
    tas = await h.activities(sandbox, cc.realm_id)
    assert len(tas) == 12
    qbo_ids = [(await h.row(sessionmaker, t)).qbo_id for t in tids]
    assert sorted(qbo_ids) == sorted(t["Id"] for t in tas)


async def test_a_validation_error_fails_with_qbos_message_and_is_not_retried(ctx, live, sessionmaker, sandbox, clock):
    cc, core = live
    from qbo_integration.core_platform.models import User

    async with sessionmaker() as s:
        bad = User(company_id=core.company_id, name="Ghost", external_ids={"qbo": "9999"})
        s.add(bad)
        await s.commit()
    tid = await _approve(ctx, sessionmaker, core, worker_id=bad.id)
    await _sync(ctx, core)
    r = await h.row(sessionmaker, tid)
    assert (r.state, r.error_kind, r.attempts) == ("failed", "validation", 0)
    assert "EmployeeRef" in r.last_error and "employee" in r.last_error.lower()
    assert (await h.core_timecard(sessionmaker, tid)).sync_status == "failed"
    calls = len(await h.sandbox_log(sandbox, cc.realm_id))
    clock.advance(hours=6)
    await sweep.sweep(ctx)
    await _sync(ctx, core)
    assert len(await h.sandbox_log(sandbox, cc.realm_id)) == calls
    assert (await h.row(sessionmaker, tid)).state == "failed"
    assert await _audit(sessionmaker, tid) == [("sync_timecard", "failure")]


async def test_a_batch_with_an_unknown_outcome_is_resent_whole_even_past_the_claim_limit(
        ctx, live, sessionmaker, sandbox, clock, monkeypatch):
    """The 5,000-timecard fault campaign doubled 46 timecards: a batch that QBO committed but whose answer
    was lost was later claimed in parts (the per-round limit cut it), the parts went out as new creates
    with new request ids, and QBO created them again. Claims now take whole batches."""
    cc, core = live
    await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"commitThenDropRate": 1.0})
    tids = [await _approve(ctx, sessionmaker, core) for _ in range(5)]
    await _sync(ctx, core)  # one batch of 5: committed in QBO, every answer lost
    assert {(await h.row(sessionmaker, t)).state for t in tids} == {"failed"}
    assert len(await h.activities(sandbox, cc.realm_id)) == 5
    await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/faults")
    monkeypatch.setattr(rounds, "CLAIM_PER_ROUND", 2)
    clock.advance(minutes=2)
    await _sync(ctx, core)
    assert {(await h.row(sessionmaker, t)).state for t in tids} == {"synced"}
    activities = await h.activities(sandbox, cc.realm_id)
    assert len(activities) == 5, f"{len(activities)} TimeActivities for 5 timecards"
    assert sorted([(await h.row(sessionmaker, t)).qbo_id for t in tids]) == sorted(a["Id"] for a in activities)


async def test_a_run_of_5xx_follows_the_retry_schedule_then_dead(ctx, live, sessionmaker, sandbox, clock):
    """An update QBO keeps failing is sent again on the retry schedule, then dead. (A create whose outcome
    is unknown is looked up instead, and a look-up QBO does not answer spends no attempt: test_recovery.)"""
    cc, core = live
    tid = await _approve(ctx, sessionmaker, core)
    await _sync(ctx, core)
    v2 = await h.change_timecard(sessionmaker, tid, notes="edited while QuickBooks fails")
    await intake.handle_event(ctx, h.event("timecard.updated", core, tid, v2))
    await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"error500Rate": 1.0})
    waits = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
             timedelta(hours=4)]
    await _sync(ctx, core)
    for n, wait in enumerate(waits, start=1):
        r = await h.row(sessionmaker, tid)
        assert (r.state, r.attempts, r.next_attempt_at - clock()) == ("failed", n, wait)
        calls = len(await h.sandbox_log(sandbox, cc.realm_id, queries=True))
        clock.advance(seconds=wait.total_seconds() - 1)
        await _sync(ctx, core)  # not due yet: no call
        assert len(await h.sandbox_log(sandbox, cc.realm_id, queries=True)) == calls
        clock.advance(seconds=1)
        await _sync(ctx, core)  # the update may have landed: sent again (naming its SyncToken), failing too
        assert len(await h.sandbox_log(sandbox, cc.realm_id, queries=True)) == calls + 1
    r = await h.row(sessionmaker, tid)
    assert (r.state, r.attempts) == ("dead", 6) and r.last_error_code == "10000"
    assert "System Failure" in (r.last_error or "")
    assert (await _audit(sessionmaker, tid))[1:] == [("update_timecard", "failure")] * 6
    clock.advance(hours=10)
    await sweep.sweep(ctx)
    await _sync(ctx, core)
    assert (await h.row(sessionmaker, tid)).state == "dead"


async def test_breaker_open_means_no_calls_and_sync_resumes_after(live, sessionmaker, sandbox, clock, sandbox_server,
                                                                  arq_redis, settings):
    cc, core = live
    api = h.make_api(sandbox_server.base_url, arq_redis, sessionmaker, settings, clock, breaker=True)
    ctx = h.make_ctx(sessionmaker=sessionmaker, arq_redis=arq_redis, api=api, clock=clock, settings=settings)
    try:
        await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"error503Rate": 1.0})
        first = await _approve(ctx, sessionmaker, core)
        await _sync(ctx, core)
        for wait in (1, 5, 15, 60):  # five failed calls in a row open the breaker
            clock.advance(minutes=wait)
            await _sync(ctx, core)
        assert (await api.breaker_state(core.company_id)).state == "open"
        assert (await h.row(sessionmaker, first)).attempts == 1  # the create; its look-ups spend none
        await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/faults")
        calls = len(await h.sandbox_log(sandbox, cc.realm_id))
        second = await _approve(ctx, sessionmaker, core, start=h.DENVER_DAY + timedelta(days=1))
        clock.advance(minutes=10)
        await _sync(ctx, core)
        assert len(await h.sandbox_log(sandbox, cc.realm_id)) == calls  # open: no call at all
        r = await h.row(sessionmaker, second)
        assert (r.state, r.attempts) == ("pending", 0)
        clock.advance(minutes=21)  # past the 30 minutes: half-open, one trial call, then closed
        await age_breaker(arq_redis, str(core.company_id), 31 * 60)  # on the breaker's clock (Redis TIME) too
        await _sync(ctx, core)
        assert (await h.row(sessionmaker, second)).state == "synced"
        assert (await api.breaker_state(core.company_id)).state == "closed"
        clock.advance(hours=4)
        await _sync(ctx, core)
        assert (await h.row(sessionmaker, first)).state == "synced"
        assert len(await h.activities(sandbox, cc.realm_id)) == 2
    finally:
        await api.aclose()


async def test_an_open_breaker_stops_the_job_even_when_this_process_clock_runs_ahead(
        live, sessionmaker, sandbox, sandbox_server, arq_redis, settings):
    """The job's "is the breaker open?" is decided on the breaker's clock (Redis TIME), not this
    process's: with a clock two hours ahead, the old check thought the 30 minutes were over and went
    on claiming rows and sending into the open breaker (each call refused, every row put to wait)."""
    from datetime import UTC, datetime

    cc, core = live
    ahead = h.Clock(datetime.now(UTC) + timedelta(hours=2))
    api = h.make_api(sandbox_server.base_url, arq_redis, sessionmaker, settings, ahead, breaker=True)
    ctx = h.make_ctx(sessionmaker=sessionmaker, arq_redis=arq_redis, api=api, clock=ahead, settings=settings)
    try:
        seconds, _ = await arq_redis.time()
        await arq_redis.hset(f"qbo:breaker:{core.company_id}",
                             mapping={"state": "open", "failures": 5, "opened_at": repr(float(seconds))})
        tid = await _approve(ctx, sessionmaker, core)
        out = await _sync(ctx, core)
        assert "Circuit breaker open" in (out.get("note") or ""), out
        r = await h.row(sessionmaker, tid)
        assert (r.state, r.pending_op, r.claim_token) == ("pending", None, None)  # not even claimed
        assert await h.sandbox_log(sandbox, cc.realm_id) == []
    finally:
        await api.aclose()
