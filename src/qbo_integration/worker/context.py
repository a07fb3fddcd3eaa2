"""Typed arq context: what every job can use."""

from __future__ import annotations

import asyncio
from typing import TypedDict

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from qbo_integration.config import Settings
from qbo_integration.services import Services
from qbo_integration.worker.listener import EventListener
from qbo_integration.worker.queue import JobQueue


class WorkerContext(TypedDict, total=False):
    redis: ArqRedis  # set by arq
    job_id: str  # set by arq per job
    job_try: int  # set by arq per job
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    queue: JobQueue
    services: Services
    listener: EventListener
    listener_task: asyncio.Task
    worker_name: str
