"""Bench storage: a migrated PostgreSQL database per run (from a template) and a Redis database number."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from pathlib import Path

import asyncpg
import redis as sync_redis

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))


PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REDIS_BASE_URL = os.environ.get("BENCH_REDIS_BASE_URL", "redis://127.0.0.1:6379").rstrip("/")
CLAIM_TTL = 4 * 3600


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _with_db(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _schema_key() -> str:
    import hashlib

    names = sorted(p.name + str(p.stat().st_size) for p in (ROOT / "migrations" / "versions").glob("*.py"))
    return hashlib.sha1("|".join(names).encode()).hexdigest()[:10]


async def _template(conn: asyncpg.Connection) -> str:
    """A migrated template database per migration set (migrating takes minutes on a loaded machine)."""
    from qbo_integration.db.migrate import upgrade

    name = f"qbo_bench_template_{_schema_key()}"
    if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
        return name
    building = name + "_tmp"
    await conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{building}"')
    await asyncio.to_thread(upgrade, _with_db(PG_ADMIN_URL, building))
    try:
        await conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    except asyncpg.DuplicateDatabaseError:
        await conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
    return name


async def create_database(prefix: str) -> tuple[str, str]:
    """(name, sqlalchemy url) of a new, migrated database (cloned from a migrated template)."""
    name = f"qbo_bench_{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(_dsn(PG_ADMIN_URL))
    try:
        template = await _template(conn)
        for attempt in range(20):
            try:
                await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                break
            except asyncpg.ObjectInUseError:  # another run is cloning the template right now
                await asyncio.sleep(0.5 + attempt * 0.2)
    finally:
        await conn.close()
    return name, _with_db(PG_ADMIN_URL, name)


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(_dsn(PG_ADMIN_URL))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def claim_redis_db(base: str = REDIS_BASE_URL) -> int:
    """A Redis database number >= 10 for this run (claim keys shared with tests/services.py)."""
    r = sync_redis.Redis.from_url(base + "/0")
    try:
        for n in range(10, 16):
            if r.set(f"qbo-test:db-claim:{n}", f"bench:{os.getpid()}", nx=True, ex=CLAIM_TTL):
                sync_redis.Redis.from_url(f"{base}/{n}").flushdb()
                return n
    finally:
        r.close()
    raise RuntimeError("no free Redis database number in 10..15")


def release_redis_db(n: int, base: str = REDIS_BASE_URL) -> None:
    with contextlib.suppress(Exception):
        sync_redis.Redis.from_url(f"{base}/{n}").flushdb()
    r = sync_redis.Redis.from_url(base + "/0")
    try:
        r.delete(f"qbo-test:db-claim:{n}")
    finally:
        r.close()
