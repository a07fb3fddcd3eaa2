"""A Redis restart loses the whole job queue: Sync Now jobs it held used to show "pending" for ever.
The sweep marks a job still pending 30 minutes after it was queued as failed, saying why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from qbo_integration.sync import jobs, sweep, tasks
from tests.support import sync as h

P = "/api/v1/integrations/quickbooks"


async def _sync_now(client, auth_headers, core) -> str:
    r = await client.post(f"{P}/sync-now", json={"companyId": str(core.company_id)}, headers=auth_headers)
    assert r.status_code == 202, r.text
    return str(r.json()["jobId"])


async def _status(client, auth_headers, job_id: str) -> dict:
    r = await client.get(f"{P}/sync-status/{job_id}", headers=auth_headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_sync_now_whose_queue_entry_redis_lost_ends_failed_saying_why(client, auth_headers, live, ctx,
                                                                                 sessionmaker, arq_redis, clock):
    _, core = live
    tid = await h.add_timecard(sessionmaker, core)
    job_id = await _sync_now(client, auth_headers, core)
    await arq_redis.flushdb()  # the restart: queue, nudges and locks gone
    clock.now = datetime.now(UTC) + timedelta(minutes=10)
    assert (await sweep.sweep(ctx))["lostJobs"] == 0  # a queue may be slow: not yet given up
    assert (await _status(client, auth_headers, job_id))["status"] == "pending"
    clock.now = datetime.now(UTC) + jobs.NEVER_STARTED_AFTER + timedelta(minutes=1)
    assert (await sweep.sweep(ctx))["lostJobs"] == 1
    s = await _status(client, auth_headers, job_id)
    assert (s["status"], s["progress"]) == ("failed", 100)
    assert "never started" in s["note"] and "Sync Now" in s["note"]
    assert (await sweep.sweep(ctx))["lostJobs"] == 0  # once
    # the sweep nudged the company: its timecard still reaches QBO, in a job of its own
    await tasks.sync_company(ctx, str(core.company_id))
    assert (await h.row(sessionmaker, tid)).state == "synced"


async def test_a_job_given_up_as_lost_that_starts_after_all_runs_and_drops_the_note(client, auth_headers, live, ctx,
                                                                                   sessionmaker, clock):
    _, core = live
    await h.add_timecard(sessionmaker, core)
    job_id = await _sync_now(client, auth_headers, core)
    clock.now = datetime.now(UTC) + jobs.NEVER_STARTED_AFTER + timedelta(minutes=1)
    assert (await sweep.sweep(ctx))["lostJobs"] == 1
    await tasks.sync_company(ctx, str(core.company_id), job_id)
    s = await _status(client, auth_headers, job_id)
    assert (s["status"], s["results"]["synced"]) == ("completed", 1)
    assert s["note"] is None
