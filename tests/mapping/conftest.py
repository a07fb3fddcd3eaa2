"""Fixtures of the mapping tests: a job queue on the test Redis, and helpers on the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from arq import create_pool
from arq.connections import RedisSettings

from qbo_integration.worker.queue import JobQueue


@pytest.fixture
async def queue(redis_url, redis) -> AsyncIterator[JobQueue]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield JobQueue(pool)
    await pool.aclose()


@pytest.fixture
async def imported(connected_company, sessionmaker, services, queue):
    """The connected sample company after its first directory import."""
    from qbo_integration.directory import import_flow
    from qbo_integration.mapping.profiles import profile_targets

    result = await import_flow.run_import(sessionmaker, services.qbo, queue, connected_company.company_id,
                                           mapped=profile_targets)
    assert result["status"] == "completed", result
    return connected_company
