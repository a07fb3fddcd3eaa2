"""Shared fixtures: real PostgreSQL and Redis, the app over ASGI, tokens, a company."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests import services as svc


def pytest_configure(config: pytest.Config) -> None:
    # `scripts/test -q` passes -q twice, and below -1 pytest drops the final "N passed" line: a run
    # that ends silently could be anything. Quiet, yes; silent, no.
    if config.option.verbose < -1:
        config.option.verbose = -1


@pytest.fixture(scope="session")
def test_services() -> Iterator[svc.TestServices]:
    workdir = Path(tempfile.mkdtemp(prefix="qbo-test-"))
    ts = svc.start(workdir)
    # Processes the tests start (workers, CLI) inherit these.
    os.environ["DATABASE_URL"] = ts.database_url
    os.environ["REDIS_URL"] = ts.redis_url
    os.environ["EVENT_CHANNEL_PREFIX"] = ts.channel_prefix
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
def settings(test_services: svc.TestServices, sandbox_server):
    """Test settings; every QBO URL points at the session's sandbox (started once, cheap)."""
    from qbo_integration.config import Settings

    base = sandbox_server.base_url
    return Settings(QBOI_ENV="test", DATABASE_URL=test_services.database_url, REDIS_URL=test_services.redis_url,
                    EXPORT_DIR=tempfile.mkdtemp(prefix="qbo-exports-"),
                    HEALTH_CACHE_SECONDS=0,  # tests read health right after changing what it reports
                    QBO_API_BASE_URL=base, QBO_AUTHORIZE_URL=f"{base}/connect/oauth2",
                    QBO_TOKEN_URL=f"{base}/oauth2/v1/tokens/bearer", QBO_REVOKE_URL=f"{base}/v2/oauth2/tokens/revoke",
                    QBO_DISCOVERY_URL=f"{base}/.well-known/openid_configuration")


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

    server = SandboxServer()  # as strict as QBO: no rule lifted
    server.start(timeout=60)  # generous: a loaded CI machine can take a while
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


# ---------------------------------------------------------------- connections (issue 5)


@dataclass(frozen=True)
class ConnectedCompany:
    company: Any  # core_platform.models.Company
    integration_id: uuid.UUID
    realm_id: str
    company_name: str  # the sandbox realm's QBO company name

    @property
    def company_id(self) -> uuid.UUID:
        return self.company.id


@pytest.fixture
async def connected_company(company, sessionmaker, settings, sandbox) -> ConnectedCompany:
    """`company` connected to a fresh sample realm of the sandbox, as if the OAuth flow had run.

    The Integration row is `connected` with encrypted tokens (access token valid for an hour), so
    `services.qbo.company(company.id, realm_id)` works against the sandbox straight away.
    """
    created = (await sandbox.post("/_sandbox/realms", json={"sample": True})).json()
    return await connect_realm(company, sessionmaker, settings, sandbox, created)


async def connect_realm(company, sessionmaker, settings, sandbox, created: dict[str, Any]) -> ConnectedCompany:
    """Connect `company` to the sandbox realm `created` (the answer of POST /_sandbox/realms)."""
    from datetime import UTC, datetime, timedelta

    from qbo_integration.connections.crypto import TokenCipher, aad_for
    from qbo_integration.connections.models import Integration

    realm_id = created["realmId"]
    grant = await sandbox.post(f"/_sandbox/realms/{realm_id}/grants")
    assert grant.status_code == 200, grant.text
    tokens = grant.json()
    cipher = TokenCipher(settings.token_encryption_keys.get_secret_value())
    now = datetime.now(UTC)
    integration_id = uuid.uuid4()
    aad = aad_for(integration_id)
    async with sessionmaker() as s:
        s.add(Integration(
            id=integration_id, company_id=company.id, type="quickbooks", enabled=False, status="healthy",
            realm_id=realm_id, qbo_company_name=created.get("companyName"), connection_status="connected",
            connection_changed_at=now, connected_by="user-1",
            access_token_enc=cipher.encrypt(tokens["access_token"], aad),
            refresh_token_enc=cipher.encrypt(tokens["refresh_token"], aad),
            access_token_expires_at=now + timedelta(seconds=int(tokens["expires_in"])),
            refresh_token_expires_at=now + timedelta(seconds=int(tokens["x_refresh_token_expires_in"])),
        ))
        await s.commit()
    return ConnectedCompany(company=company, integration_id=integration_id, realm_id=realm_id,
                            company_name=created.get("companyName") or "")


@pytest.fixture
async def services(settings, sessionmaker, redis):
    """The process-wide clients (`Services`: qbo, cipher, token_store, ...) built like the app builds them."""
    from qbo_integration.services import build_services

    built = await build_services(settings, sessionmaker, redis)
    yield built
    await built.aclose()
