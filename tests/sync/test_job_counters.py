"""The sync_jobs row's counters, added one round at a time in single UPDATEs (jobs.add_round, jobs.finish)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from qbo_integration.sync import jobs
from qbo_integration.sync.writeback import RoundSummary
from tests.support import sync as h

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


async def _job(sessionmaker, live):
    cc, _ = live
    job = await jobs.start(sessionmaker, cc.company_id, None, "event", NOW)
    assert job is not None
    return job


async def test_rounds_add_up_and_keep_the_newest_errors(live, sessionmaker):
    job = await _job(sessionmaker, live)
    for i in range(3):
        errors = [{"message": f"round {i} error {k}", "state": "failed"} for k in range(90)]
        async with sessionmaker() as s:
            await jobs.add_round(s, job.id, claimed=10, summary=RoundSummary(
                synced=7, failed=2, waiting=1, dead=i, errors=errors), cost=(3, 2, 1))
            await s.commit()
    async with sessionmaker() as s:
        await jobs.add_round(s, job.id, claimed=5, summary=RoundSummary(synced=5), cost=(1, 1, 0))
        await s.commit()
    async with sessionmaker() as s:
        row = await jobs.get(s, job.id)
    assert (row.timecards_total, row.timecards_synced, row.timecards_failed) == (35, 26, 6)
    assert (row.qbo_calls, row.qbo_batches, row.qbo_retries) == (10, 7, 3)
    assert row.results == {"waiting": 3, "dead": 3}
    assert len(row.errors) == jobs.MAX_ERRORS
    assert row.errors[0]["message"] == "round 0 error 70"  # the oldest 70 of 270 fell off
    assert row.errors[-1]["message"] == "round 2 error 89"


async def test_finish_keeps_the_counts_and_adds_the_note(live, sessionmaker):
    job = await _job(sessionmaker, live)
    async with sessionmaker() as s:
        await jobs.add_round(s, job.id, claimed=4, summary=RoundSummary(synced=3, failed=1, waiting=2),
                             cost=(1, 1, 0))
        await s.commit()
    status = await jobs.finish(sessionmaker, job.id, NOW, note="QuickBooks calls are paused")
    assert status == {"status": "completed", "synced": 3, "failed": 1, "total": 4,
                      "note": "QuickBooks calls are paused"}
    (row,) = await h.jobs_of(sessionmaker, job.company_id)
    assert row.results == {"waiting": 2, "dead": 0, "note": "QuickBooks calls are paused"}
    assert row.started_at == NOW and row.completed_at == NOW
    assert await jobs.finish(sessionmaker, job.id, NOW, error="Sync job failed: boom") == {
        "status": "failed", "synced": 3, "failed": 1, "total": 4, "note": "Sync job failed: boom"}


async def test_finishing_a_missing_job_says_so(sessionmaker):
    import uuid

    assert await jobs.finish(sessionmaker, uuid.uuid4(), NOW) == {"status": "missing"}


async def test_a_queued_job_starts_in_one_statement_and_prepares_once(live, sessionmaker):
    """jobs.start marks a queued job running with one UPDATE; prepare_once clears the request with the
    UPDATE that records its count, so a second run holding the old params rolls its preparation back."""
    cc, _ = live
    async with sessionmaker() as s:
        queued = await jobs.create(s, cc.integration_id, cc.company_id, "admin", {jobs.REDERIVE: True, "x": 1})
        await s.commit()
    job = await jobs.start(sessionmaker, cc.company_id, queued.id, "admin", NOW)
    assert job is not None and (job.status, job.started_at, job.params[jobs.REDERIVE]) == ("running", NOW, True)
    stale = await jobs.start(sessionmaker, cc.company_id, queued.id, "admin", NOW.replace(hour=13))
    assert stale is not None and stale.started_at == NOW  # a second start keeps the first start's time
    calls = []

    async def prepare(s, company_id, now):  # writes in the job's transaction, as the re-derivation does
        calls.append(company_id)
        await s.execute(text("UPDATE sync_jobs SET trigger = :t WHERE id = :id"),
                        {"t": f"prepared-{len(calls)}", "id": queued.id})
        return 7

    await jobs.prepare_once(sessionmaker, job, prepare, NOW)
    assert job.params == {"x": 1, "requeued": 7}
    await jobs.prepare_once(sessionmaker, stale, prepare, NOW)  # the params it holds still ask
    assert calls == [cc.company_id, cc.company_id] and stale.params[jobs.REDERIVE] is True
    (row,) = await h.jobs_of(sessionmaker, cc.company_id)
    assert (row.status, row.params, row.trigger) == ("running", {"x": 1, "requeued": 7}, "prepared-1")
