"""Process-wide clients shared by the API and the worker (one per process, closed on shutdown)."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.config import Settings
from qbo_integration.connections.crypto import TokenCipher
from qbo_integration.connections.store import ConnectionTokenStore
from qbo_integration.monitoring.qbo_observer import MonitoringObserver
from qbo_integration.qbo import QboApi, QboConfig
from qbo_integration.worker.queue import JobQueue


def qbo_config(settings: Settings) -> QboConfig:
    """The QBO client's settings from the service's settings."""
    return QboConfig(
        api_base_url=settings.qbo_api_base_url,
        minor_version=settings.qbo_minor_version,
        timeout=settings.qbo_timeout_seconds,
        client_id=settings.qbo_client_id,
        client_secret=settings.qbo_client_secret.get_secret_value(),
        authorize_url=settings.qbo_authorize_url,
        token_url=settings.qbo_token_url,
        revoke_url=settings.qbo_revoke_url,
        discovery_url=settings.qbo_discovery_url,
        redirect_uri=settings.qbo_redirect_uri,
    )


class Services:
    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis,
                 queue: JobQueue | None = None) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.http = httpx.AsyncClient(timeout=settings.qbo_timeout_seconds)
        self.cipher = TokenCipher(settings.token_encryption_keys.get_secret_value())
        self.token_store = ConnectionTokenStore(sessionmaker, self.cipher)
        # Metrics, breaker alerts and the fallback export hang off the client's hooks.
        self.observer = MonitoringObserver(sessionmaker, settings, queue, redis=redis)
        self.qbo = QboApi(qbo_config(settings), redis, self.token_store, observer=self.observer)
        self.observer.qbo = self.qbo

    async def aclose(self) -> None:
        await self.qbo.aclose()
        await self.observer.aclose()
        await self.http.aclose()


async def build_services(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis,
                         queue: JobQueue | None = None) -> Services:
    return Services(settings, sessionmaker, redis, queue)
