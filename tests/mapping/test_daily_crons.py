"""The daily crons queue one job per connected company and day (directory import, reconciliation)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from arq.jobs import Job, JobStatus

from qbo_integration.directory import tasks as directory_tasks
from qbo_integration.queue import QUEUE_NAME, JobQueue
from qbo_integration.reconciliation import tasks as reconciliation_tasks


@pytest.mark.parametrize(("cron", "key"), [(directory_tasks.import_directories_daily, "directory_import"),
                                           (reconciliation_tasks.reconcile_nightly, "reconcile")])
async def test_daily_cron_queues_one_job_per_connected_company(connected_company, company, sessionmaker, settings,
                                                               cron, key):
    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    try:
        ctx = {"sessionmaker": sessionmaker, "queue": JobQueue(pool), "settings": settings}
        assert await cron(ctx) == 1
        assert await cron(ctx) == 1  # the same day: the same job id, nothing new queued
        day = datetime.now(UTC).date().isoformat()
        job_id = f"{key}:{connected_company.company_id}:{day}"
        assert await Job(job_id, pool, _queue_name=QUEUE_NAME).status() == JobStatus.queued
        assert [j for j in await pool.zrange(QUEUE_NAME, 0, -1) if j.decode().startswith(f"{key}:")] == [job_id.encode()]
    finally:
        await pool.zremrangebyscore(QUEUE_NAME, "-inf", "+inf")  # no worker here: leave no job for another test
        await pool.aclose()
