"""Process-wide clients shared by the API and the worker (one per process, closed on shutdown)."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.config import Settings


class Services:
    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.http = httpx.AsyncClient(timeout=settings.qbo_timeout_seconds)

    async def aclose(self) -> None:
        await self.http.aclose()


async def build_services(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis) -> Services:
    return Services(settings, sessionmaker, redis)
