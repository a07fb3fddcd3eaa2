"""Issue 13's leftovers: QBO's throttling is pacing, never a spent attempt, and rows it held back are
sent again when the pause ends (not at the next sweep)."""

from __future__ import annotations

from qbo_integration.queue import QUEUE_NAME
from qbo_integration.sync import engine, intake, rounds
from qbo_integration.sync.states import Kind
from tests.support import sync as h


async def _approve(ctx, sessionmaker, core):
    tid = await h.add_timecard(sessionmaker, core)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    return tid


async def _deferred_sync_jobs(arq_redis, company_id) -> list[tuple[str, float]]:
    """(job id, when) of the company's deferred sync jobs in arq's queue."""
    out = []
    for key, score in await arq_redis.zrange(QUEUE_NAME, 0, -1, withscores=True):
        job = key.decode()
        if job.startswith(f"sync:{company_id}:at:"):
            out.append((job, score / 1000))
    return out


async def test_a_long_429_pause_spends_no_attempt_and_resumes_when_it_ends(ctx, live, sessionmaker, sandbox,
                                                                           clock, arq_redis):
    cc, core = live
    tid = await _approve(ctx, sessionmaker, core)
    await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"throttleNextRequests": 1})
    await engine.run_company_sync(ctx, core.company_id)  # QBO: 429 with no Retry-After -> a 60 s pause
    r = await h.row(sessionmaker, tid)
    assert (r.state, r.attempts, r.error_kind) == ("pending", 0, "wait")
    assert 50 <= (r.next_attempt_at - clock()).total_seconds() <= 70  # due when the pause ends
    import time

    wakes = [at - time.time() for _, at in await _deferred_sync_jobs(arq_redis, core.company_id)]  # arq: wall clock
    assert any(50 <= w <= 70 for w in wakes), "no job was scheduled for the end of the pause"  # (and one at the lease's)
    assert r.pending_op is None, "QBO refused the create (429): nothing is outstanding to look up"
    clock.advance(seconds=61)
    await arq_redis.delete(f"qbo:limit:{{{cc.realm_id}}}:pause")  # the realm's pause (Redis' clock) is over too
    await engine.run_company_sync(ctx, core.company_id)
    [ta] = await h.activities(sandbox, cc.realm_id)
    assert (await h.row(sessionmaker, tid)).qbo_id == ta["Id"]
    lookups = [e for e in await h.sandbox_log(sandbox, cc.realm_id, queries=True) if e["path"].endswith("/query")]
    assert lookups == [], "a throttled create cost a look-up"


async def test_a_throttled_batch_item_spends_no_attempt(ctx, live, sessionmaker, sandbox, clock):
    """QBO can throttle inside a batch answer (a 3001 fault per item): pacing, as a 429 is."""
    from qbo_integration.qbo import RateLimitedError
    from qbo_integration.sync import lifecycle

    failure = lifecycle.classify(RateLimitedError("ThrottleExceeded", code="3001"))
    assert failure.kind == Kind.WAIT


async def test_rows_a_paused_round_never_claimed_are_woken_at_the_end_of_the_pause(ctx, live, sessionmaker, sandbox,
                                                                                  clock, arq_redis, monkeypatch):
    """A 429 stops the job mid-backlog: the rows of later rounds are still due (their next attempt is in the
    past), so the earliest due time said "no retry to schedule" and they waited for the sweep (15 min;
    bench/fleet.py 50 x 1,000: three companies stalled with 460-490 rows pending)."""
    monkeypatch.setattr(rounds, "CLAIM_PER_ROUND", 1)
    cc, core = live
    first = await _approve(ctx, sessionmaker, core)
    second = await _approve(ctx, sessionmaker, core)
    await sandbox.put(f"/_sandbox/realms/{cc.realm_id}/faults", json={"throttleNextRequests": 1})
    await engine.run_company_sync(ctx, core.company_id)  # round 1: a 429 and a 60 s pause; round 2 never runs
    rows = {tid: await h.row(sessionmaker, tid) for tid in (first, second)}
    assert [r.state for r in rows.values()] == ["pending", "pending"]
    assert min(r.next_attempt_at for r in rows.values()) <= clock()  # one row is due now, not at the pause's end
    import time

    wakes = [at - time.time() for _, at in await _deferred_sync_jobs(arq_redis, core.company_id)]
    assert any(50 <= w <= 70 for w in wakes), "no job was scheduled for the rows still due"
