"""A directory import whose queue entry Redis lost (a restart loses the whole queue) used to show
"pending" for ever: every minute, imports pending for 30 s are queued again; every 15 minutes, imports
pending for 30 minutes are marked failed, saying why; one that stopped while running ends failed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from qbo_integration.directory import import_flow, tasks
from qbo_integration.queue import QUEUE_NAME, commit_and_flush
from qbo_integration.sync import jobs

API = "/api/v1/integrations/quickbooks"


async def _queue_import(client, auth_headers, cid: str) -> str:
    r = await client.post(f"{API}/directory/import", json={"companyId": cid, "mode": "full"}, headers=auth_headers)
    assert r.status_code == 202, r.text
    return str(r.json()["jobId"])


async def _status(client, auth_headers, cid: str, job_id: str) -> dict:
    r = await client.get(f"{API}/directory/import/{job_id}", params={"companyId": cid}, headers=auth_headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_an_import_the_queue_lost_ends_failed_saying_why(client, auth_headers, imported, sessionmaker, queue):
    cid = str(imported.company_id)
    job_id = await _queue_import(client, auth_headers, cid)
    await queue.pool.flushdb()  # the restart: the queue is gone
    soon, late = datetime.now(UTC) + timedelta(minutes=10), datetime.now(UTC) + jobs.NEVER_STARTED_AFTER + timedelta(minutes=1)
    async with sessionmaker() as s:
        assert await import_flow.give_up_lost(s, soon) == 0  # a queue may be slow: not yet given up
        await s.commit()
    assert (await _status(client, auth_headers, cid, job_id))["status"] == "pending"
    async with sessionmaker() as s:
        assert await import_flow.give_up_lost(s, late) == 1
        await s.commit()
    out = await _status(client, auth_headers, cid, job_id)
    assert out["status"] == "failed" and out["completedAt"] is not None
    assert "never started" in out["errors"][0]["message"] and "Import" in out["errors"][0]["message"]
    async with sessionmaker() as s:
        assert await import_flow.give_up_lost(s, late) == 0  # once
        assert await jobs.fail_unstarted(s, late) == 0  # the sweep's own (timecards) leaves imports alone


async def test_an_import_given_up_whose_queue_entry_survived_runs(client, auth_headers, imported, sessionmaker,
                                                                 services, queue):
    cid = str(imported.company_id)
    job_id = await _queue_import(client, auth_headers, cid)
    async with sessionmaker() as s:
        assert await import_flow.give_up_lost(s, datetime.now(UTC) + timedelta(hours=1)) == 1
        await s.commit()
    ctx = {"sessionmaker": sessionmaker, "services": services, "queue": queue}
    done = await tasks.import_directory(ctx, cid, job_id)
    assert done["status"] == "completed", done
    out = await _status(client, auth_headers, cid, job_id)
    assert out["status"] == "completed" and out["errors"] == [] and "lost" not in out["results"]
    assert (await tasks.import_directory(ctx, cid, job_id))["status"] == "skipped"  # and only once


async def test_the_worker_looks_for_lost_imports_every_15_minutes(sessionmaker):
    from qbo_integration.worker.registry import cron_jobs

    [job] = [c for c in cron_jobs() if c.name == "cron:give_up_lost_imports"]
    assert job.minute == {5, 20, 35, 50}
    assert await tasks.give_up_lost_imports({"sessionmaker": sessionmaker}) >= 0


async def test_an_import_the_queue_lost_is_queued_again_within_a_minute(client, auth_headers, imported, sessionmaker,
                                                                       queue):
    """An admin's import queued just before Redis restarted: queued again by the minute's cron, not left
    "pending" for half an hour (the operations campaign's admin waited 5 minutes on one)."""
    from arq.jobs import Job

    cid = str(imported.company_id)
    job_id = await _queue_import(client, auth_headers, cid)
    key = import_flow.job_key(cid, job_id)
    ctx = {"sessionmaker": sessionmaker, "queue": queue}
    assert await tasks.requeue_lost_imports(ctx) == 0  # just queued: left alone
    await queue.pool.flushdb()  # the restart: the queue is gone
    assert await Job(key, queue.pool, _queue_name=QUEUE_NAME).status() == "not_found"
    async with sessionmaker() as s:  # queued again after the commit, under the job's own id
        assert await import_flow.requeue_lost(s, queue, datetime.now(UTC) + import_flow.REQUEUE_AFTER * 2) == 1
        await commit_and_flush(s, queue)
    assert await Job(key, queue.pool, _queue_name=QUEUE_NAME).status() == "queued"
    async with sessionmaker() as s:  # a second entry of the waiting job is refused by the queue: one run
        assert await import_flow.requeue_lost(s, queue, datetime.now(UTC) + import_flow.REQUEUE_AFTER * 2) == 1
        await commit_and_flush(s, queue)
    assert await queue.pool.zcard(QUEUE_NAME) == 1


async def test_an_import_that_stopped_while_running_ends_failed_saying_why(client, auth_headers, imported,
                                                                          sessionmaker, queue):
    from sqlalchemy import update

    from qbo_integration.sync.models import SyncJob

    cid = str(imported.company_id)
    job_id = await _queue_import(client, auth_headers, cid)
    started = datetime.now(UTC)
    async with sessionmaker() as s:  # a worker claimed it, then was killed
        await s.execute(update(SyncJob).where(SyncJob.id == job_id).values(status="running", started_at=started))
        await s.commit()
    async with sessionmaker() as s:
        await import_flow.requeue_lost(s, queue, started + timedelta(minutes=5))
        await s.commit()
    assert (await _status(client, auth_headers, cid, job_id))["status"] == "running"  # may still be at work
    async with sessionmaker() as s:
        await import_flow.requeue_lost(s, queue, started + import_flow.STALLED_AFTER + timedelta(seconds=1))
        await s.commit()
    out = await _status(client, auth_headers, cid, job_id)
    assert out["status"] == "failed" and out["errors"][0]["message"] == import_flow.STALLED_NOTE
