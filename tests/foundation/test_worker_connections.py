"""A worker opens at most WORKER_DB_CONNECTIONS PostgreSQL connections, however many jobs it runs.

It used to open up to 20 + 10 overflow: four workers could ask for 120 of PostgreSQL's default 100
(bench/fleet.py with 1,000 companies and 250 jobs per worker: "sorry, too many clients already")."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from qbo_integration.config import Settings
from qbo_integration.worker.settings import make_worker_engine


async def test_many_jobs_share_the_workers_connections(database_url: str) -> None:
    settings = Settings(QBOI_ENV="test", DATABASE_URL=database_url, WORKER_DB_CONNECTIONS=3)
    engine = make_worker_engine(settings)
    peak = 0

    async def job() -> None:
        nonlocal peak
        async with engine.connect() as conn:
            peak = max(peak, engine.pool.checkedout())  # type: ignore[attr-defined]
            await conn.execute(text("SELECT pg_sleep(0.05)"))

    try:
        await asyncio.gather(*(job() for _ in range(12)))  # all twelve finish, three at a time
    finally:
        await engine.dispose()
    assert peak == 3


def test_default_fits_four_workers_in_postgres_default_max_connections() -> None:
    assert 4 * Settings(QBOI_ENV="test").worker_db_connections <= 80  # of 100, room for the API
