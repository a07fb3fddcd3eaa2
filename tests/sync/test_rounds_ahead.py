"""A company's next round is claimed and prepared while the current one waits for QBO's pace, so a
round's boundary costs no send slot (bench/fleet.py's timelines); a job that stops gives it back."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from qbo_integration.qbo.config import LimitsConfig
from qbo_integration.queue import QUEUE_NAME
from qbo_integration.sync import engine, intake, rounds, sender
from qbo_integration.sync.models import TimecardSyncRecord as Row
from tests.support import sync as h


async def _approve_days(ctx, sessionmaker, core, n: int) -> list[uuid.UUID]:
    tids = []
    for i in range(n):
        tid = await h.add_timecard(sessionmaker, core, start=h.DENVER_DAY + timedelta(days=i))
        await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
        tids.append(tid)
    return tids


async def _states(sessionmaker, tids) -> dict[uuid.UUID, tuple[str, uuid.UUID | None]]:
    async with sessionmaker() as s:
        rows = (await s.execute(select(Row.timecard_id, Row.state, Row.claim_token)
                                .where(Row.timecard_id.in_(tids)))).all()
    return {t: (st, tok) for t, st, tok in rows}


async def test_the_next_round_is_claimed_while_this_one_sends(ctx, live, sessionmaker, sandbox, monkeypatch):
    cc, core = live
    monkeypatch.setattr(rounds, "CLAIM_PER_ROUND", 2)  # rounds of 2: the first round is 2 as well
    tids = await _approve_days(ctx, sessionmaker, core, 5)
    real_send = sender.send
    seen: list[dict] = []

    async def watching_send(client, works):
        sending = {w.claimed.timecard_id for w in works}

        async def claimed_ahead() -> bool:
            states = await _states(sessionmaker, tids)
            return any(st == "in_flight" for t, (st, _) in states.items() if t not in sending)

        if not seen:  # the first round's send: the second round's rows get claimed meanwhile
            seen.append({"ahead": await h.wait_for(claimed_ahead, timeout=10)})
        return await real_send(client, works)

    monkeypatch.setattr(sender, "send", watching_send)
    result = await engine.run_company_sync(ctx, core.company_id)
    assert seen == [{"ahead": True}]
    assert result["status"] == "completed" and result["synced"] == 5
    assert len(await h.activities(sandbox, cc.realm_id)) == 5  # each exactly once
    assert all(st == "synced" for st, _ in (await _states(sessionmaker, tids)).values())


async def test_a_job_that_stops_gives_back_the_round_it_took_ahead(ctx, live, sessionmaker, sandbox, monkeypatch):
    cc, core = live
    monkeypatch.setattr(rounds, "JOB_BUDGET_SECONDS", 0.0)  # one round per job
    monkeypatch.setattr(rounds, "CLAIM_PER_ROUND", 2)
    tids = await _approve_days(ctx, sessionmaker, core, 4)
    first = await engine.run_company_sync(ctx, core.company_id)
    assert first["status"] == "continuing" and len(await h.activities(sandbox, cc.realm_id)) == 2
    states = await _states(sessionmaker, tids)
    # the two rows claimed during the first round are due again, not held by a job that has ended
    assert sorted(st for st, _ in states.values()) == ["pending", "pending", "synced", "synced"]
    assert all(tok is None for st, tok in states.values() if st == "pending")


def test_batches_fill_qbo_s_minute_exactly():
    """30 a batch left 20 of every 500 calls unused (the 17th batch waited for the first to leave the window)."""
    assert LimitsConfig().calls_per_window % sender.MAX_BATCH == 0
    assert sender.MAX_BATCH == 25  # the largest such size QBO takes (30 at most)
    assert [sender.window_filling_batch(n) for n in (500, 480, 7, 31)] == [25, 30, 7, 1]


async def _retry_at(sessionmaker, tid: uuid.UUID, at) -> None:
    async with sessionmaker() as s:
        await s.execute(update(Row).where(Row.timecard_id == tid).values(next_attempt_at=at))
        await s.commit()


async def test_a_retry_falling_due_while_the_job_sends_goes_in_the_same_job(ctx, live, sessionmaker, sandbox, clock,
                                                                           monkeypatch):
    """The round claimed every row due then, so the job asks (one statement) whether one is due now
    before claiming again: a retry that fell due meanwhile is sent by this job, not by the sweep."""
    cc, core = live
    now_due, later = await _approve_days(ctx, sessionmaker, core, 2)
    await _retry_at(sessionmaker, later, clock() + timedelta(seconds=10))
    real_send = sender.send

    async def slow_send(client, works):
        clock.advance(seconds=20)  # the retry falls due while this round sends (inside the round's lease)
        return await real_send(client, works)

    monkeypatch.setattr(sender, "send", slow_send)
    result = await engine.run_company_sync(ctx, core.company_id)
    assert result["status"] == "completed" and result["synced"] == 2
    assert all(st == "synced" for st, _ in (await _states(sessionmaker, [now_due, later])).values())


async def test_a_retry_not_due_when_the_job_ends_gets_a_job_at_its_time(ctx, live, sessionmaker, sandbox, clock,
                                                                       arq_redis):
    cc, core = live
    now_due, later = await _approve_days(ctx, sessionmaker, core, 2)
    await _retry_at(sessionmaker, later, clock() + timedelta(minutes=10))
    result = await engine.run_company_sync(ctx, core.company_id)
    assert result["status"] == "completed" and result["synced"] == 1
    assert (await _states(sessionmaker, [later]))[later][0] == "pending"
    slots = [k.decode() for k in await arq_redis.zrange(QUEUE_NAME, 0, -1)]
    slot = int((clock() + timedelta(minutes=10)).timestamp())  # nudge_later: one job id a second
    assert f"sync:{core.company_id}:at:{slot}" in slots
