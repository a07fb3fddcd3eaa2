"""Real PostgreSQL and Redis for the test session: the local servers when they answer, else embedded ones.

Each run gets a fresh database (migrated once, dropped at the end unless QBO_TEST_KEEP_DATABASE is set) and a Redis
database number of its own (claimed in db 0), so parallel runs don't collide.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import redis
from sqlalchemy.engine import make_url

from qbo_integration.devstack.embedded import EmbeddedServices, port_open

CLAIM_TTL = 4 * 3600


@dataclass
class TestServices:
    admin_dsn: str  # asyncpg DSN to the maintenance database
    database_url: str  # SQLAlchemy URL of this run's database
    database_name: str
    redis_url: str
    redis_db: int
    embedded: EmbeddedServices
    # Pub/sub channels are global across Redis database numbers: this run's events go behind its own prefix.
    channel_prefix: str = ""


def _claim_redis_db(base: str) -> int:
    r = redis.Redis.from_url(base + "/0")
    try:
        for n in range(1, 16):
            if r.set(f"qbo-test:db-claim:{n}", os.getpid(), nx=True, ex=CLAIM_TTL):
                return n
    finally:
        r.close()
    raise RuntimeError("no free Redis database number for this test run (all 15 claimed)")


def _release_redis_db(base: str, n: int) -> None:
    r = redis.Redis.from_url(base + "/0")
    try:
        r.delete(f"qbo-test:db-claim:{n}")
    finally:
        r.close()


async def _create_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def start(workdir: Path) -> TestServices:
    embedded = EmbeddedServices(workdir)
    if os.environ.get("TEST_DATABASE_ADMIN_URL"):
        admin_url = os.environ["TEST_DATABASE_ADMIN_URL"]
    elif port_open("127.0.0.1", 5432):
        admin_url = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    else:
        admin_url = embedded.start_postgres()
    admin_dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"qbo_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_create_database(admin_dsn, name))
    database_url = with_database(admin_url, name)

    if os.environ.get("TEST_REDIS_BASE_URL"):
        redis_base = os.environ["TEST_REDIS_BASE_URL"].rstrip("/")
    elif port_open("127.0.0.1", 6379):
        redis_base = "redis://127.0.0.1:6379"
    else:
        redis_base = embedded.start_redis().rsplit("/", 1)[0]
    db = _claim_redis_db(redis_base)
    return TestServices(admin_dsn, database_url, name, f"{redis_base}/{db}", db, embedded,
                        channel_prefix=f"qbo-test-{uuid.uuid4().hex[:10]}:")


def stop(ts: TestServices) -> None:
    try:
        if os.environ.get("QBO_TEST_KEEP_DATABASE"):  # diagnosing a failed run: the rows stay to look at
            print(f"\ntest database kept: {ts.database_name}")
        else:
            asyncio.run(_drop_database(ts.admin_dsn, ts.database_name))
    finally:
        try:
            r = redis.Redis.from_url(ts.redis_url)
            r.flushdb()
            r.close()
            _release_redis_db(ts.redis_url.rsplit("/", 1)[0], ts.redis_db)
        finally:
            ts.embedded.stop()
