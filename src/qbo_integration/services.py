"""Process-wide clients shared by the API and the worker (one per process, closed on shutdown)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.config import Settings
from qbo_integration.connections.crypto import TokenCipher
from qbo_integration.connections.service import integration_id
from qbo_integration.connections.store import ConnectionTokenStore
from qbo_integration.mapping.profiles import profile_targets
from qbo_integration.mapping.sync_mapper import MAPPER
from qbo_integration.monitoring import alerts
from qbo_integration.monitoring.qbo_observer import MonitoringObserver
from qbo_integration.qbo import QboApi, QboConfig
from qbo_integration.queue import JobQueue
from qbo_integration.realms.switch import switch_realm
from qbo_integration.reconciliation.findings import supersede
from qbo_integration.reconciliation.health_signal import drift_signal
from qbo_integration.sync.story.retention import prune_story
from qbo_integration.sync.story.service import explain_many
from qbo_integration.worker.queue import open_pool


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
                 queue: JobQueue, own_pool: Any = None) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.http = httpx.AsyncClient(timeout=settings.qbo_timeout_seconds)
        self.cipher = TokenCipher(settings.token_encryption_keys.get_secret_value())
        self.token_store = ConnectionTokenStore(sessionmaker, self.cipher)
        # Metrics, breaker alerts and the fallback export hang off the client's hooks.
        self.observer = MonitoringObserver(sessionmaker, settings, queue, integration_id=integration_id,
                                           redis=redis)
        self.qbo = QboApi(qbo_config(settings), redis, self.token_store, observer=self.observer)
        self.observer.qbo = self.qbo
        # What the domains above health add to it (health.service's signals).
        self.health_signals = (drift_signal,)
        # What the sync engine maps timecards with (sync.mapper.Mapper; sync imports nothing of mapping).
        self.mapper = MAPPER
        # Told of every record the sync's writes changed: drift findings they supersede (sync.written).
        self.on_written = supersede
        # The connect flow's confirmed switch to another QuickBooks company (connections sits below it).
        self.switch_realm = switch_realm
        # What the directory import is handed to tell an orphaned record (directory imports nothing of mapping).
        self.mapped_keys = profile_targets
        # A timecard's sync state in words, for the audit log's rows (monitoring imports nothing of sync).
        self.explain_timecards = explain_many
        # Pruned by the monitoring retention job next to the audit log (monitoring imports nothing of sync).
        self.retention = (prune_story,)
        self._own_pool = own_pool  # closed with the services (build_services opened it)

    async def aclose(self) -> None:
        await self.qbo.aclose()
        await self.http.aclose()
        if self._own_pool is not None:
            await self._own_pool.aclose()


async def build_services(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis,
                         queue: JobQueue | None = None) -> Services:
    """Without a queue (a script, a test) the services open a job queue of their own and close it."""
    alerts.configure(timedelta(minutes=settings.alert_cooldown_minutes))
    own_pool = None
    if queue is None:
        own_pool = await open_pool(settings.redis_url)
        queue = JobQueue(own_pool)
    return Services(settings, sessionmaker, redis, queue, own_pool)
