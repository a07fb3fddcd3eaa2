"""Shared fixtures: real PostgreSQL and Redis, the app over ASGI, tokens, a company."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests import services as svc


@pytest.fixture(scope="session")
def test_services() -> Iterator[svc.TestServices]:
    workdir = Path(tempfile.mkdtemp(prefix="qbo-test-"))
    ts = svc.start(workdir)
    # Processes the tests start (workers, CLI) inherit these.
    os.environ["DATABASE_URL"] = ts.database_url
    os.environ["REDIS_URL"] = ts.redis_url
    os.environ["QBOI_ENV"] = "test"
    from qbo_integration.config import get_settings
    from qbo_integration.db.migrate import upgrade

    get_settings.cache_clear()
    upgrade(ts.database_url)
    try:
        yield ts
    finally:
        svc.stop(ts)


@pytest.fixture(scope="session")
def database_url(test_services: svc.TestServices) -> str:
    return test_services.database_url


@pytest.fixture(scope="session")
def redis_url(test_services: svc.TestServices) -> str:
    return test_services.redis_url


@pytest.fixture
def settings(test_services: svc.TestServices):
    from qbo_integration.config import Settings

    return Settings(QBOI_ENV="test", DATABASE_URL=test_services.database_url, REDIS_URL=test_services.redis_url,
                    EXPORT_DIR=tempfile.mkdtemp(prefix="qbo-exports-"))


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    from qbo_integration.db.session import make_engine

    eng = make_engine(database_url, pool_size=5)
    yield eng
    await eng.dispose()


async def truncate_all(engine: AsyncEngine) -> None:
    from qbo_integration.db.models import metadata

    names = ", ".join(
        f'"{t.schema}"."{t.name}"' if t.schema else f'"{t.name}"' for t in metadata.sorted_tables
    )
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} CASCADE"))


@pytest.fixture
async def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A clean database for this test (every table truncated first)."""
    from qbo_integration.db.session import make_sessionmaker

    await truncate_all(engine)
    return make_sessionmaker(engine)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
async def app(settings, sessionmaker, redis):
    from qbo_integration.app import create_app

    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30) as manager:
        yield manager.app


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def make_token(settings):
    from qbo_integration.api.auth import mint_token

    def _make(company_id: uuid.UUID | str, role: str = "admin", sub: str = "user-1") -> str:
        return mint_token(settings, company_id=uuid.UUID(str(company_id)), role=role, sub=sub)

    return _make


@pytest.fixture
async def company(sessionmaker):
    """A Core company (America/Denver) with its admin's email."""
    from qbo_integration.core_platform.models import Company

    async with sessionmaker() as s:
        c = Company(id=uuid.uuid4(), name="Acme Builders", timezone="America/Denver", admin_email="admin@acme.test")
        s.add(c)
        await s.commit()
        return c


@pytest.fixture
def auth_headers(company, make_token):
    return {"Authorization": f"Bearer {make_token(company.id)}"}


@pytest.fixture(scope="session")
def sandbox_server():
    """The built-in QBO sandbox over real HTTP (one per test session)."""
    from qbo_integration.sandbox.runner import SandboxServer

    server = SandboxServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def sandbox(sandbox_server) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the sandbox's base URL (admin API at /_sandbox). Faults are cleared after each test."""
    async with httpx.AsyncClient(base_url=sandbox_server.base_url, timeout=30) as c:
        yield c
        realms = (await c.get("/_sandbox/realms")).json()
        for realm in realms if isinstance(realms, list) else realms.get("realms", []):
            rid = realm["realmId"] if isinstance(realm, dict) else realm
            await c.delete(f"/_sandbox/realms/{rid}/faults")
