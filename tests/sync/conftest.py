"""Fixtures for sync tests: a live-sync company on a sandbox realm, a movable clock, a worker ctx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from tests.support import sync as h


@pytest.fixture
async def arq_redis(redis, redis_url) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield pool
    await pool.aclose()


@pytest.fixture
def clock() -> h.Clock:
    return h.Clock()


@pytest.fixture
async def live(connected_company, sessionmaker) -> tuple[Any, h.Core]:
    """A connected company with live sync on, a worker (Employee 1), project (Customer 1), cost code (Item 1)."""
    core = await h.seed_core(sessionmaker, connected_company.company_id)
    await h.enable_live_sync(sessionmaker, connected_company.company_id)
    return connected_company, core


@pytest.fixture
async def api(sandbox_server, arq_redis, sessionmaker, settings, clock) -> AsyncIterator[Any]:
    qbo = h.make_api(sandbox_server.base_url, arq_redis, sessionmaker, settings, clock)
    yield qbo
    await qbo.aclose()


@pytest.fixture
def ctx(sessionmaker, arq_redis, api, clock, settings) -> dict[str, Any]:
    return h.make_ctx(sessionmaker=sessionmaker, arq_redis=arq_redis, api=api, clock=clock, settings=settings)
