"""The typed context a sync job runs with (polar's JobContext), read once from the worker's dict.

arq hands every job one dict (worker/settings.py fills it: `services`, `sessionmaker`, `redis`, `queue`);
tests hand their own (with a movable `clock`, a `qbo` client of their own, `mapper`, `on_written`). The
entry points (tasks.py, intake.handle_event, sweep.sweep, engine.run_company_sync) turn it into a
JobContext, so nothing deeper reaches into the dict or falls back from one key to another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.clock import Clock, utc_now
from qbo_integration.qbo import QboApi
from qbo_integration.queue import JobQueue
from qbo_integration.sync.mapper import Mapper
from qbo_integration.sync.written import WrittenHook


@dataclass(frozen=True)
class JobContext:
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    queue: JobQueue
    qbo: QboApi
    mapper: Mapper
    clock: Clock
    worker_name: str
    on_written: WrittenHook | None = None
    settings: Any = None

    @classmethod
    def of(cls, ctx: dict[str, Any] | JobContext) -> JobContext:
        if isinstance(ctx, JobContext):
            return ctx
        services = ctx.get("services")

        def pick(key: str) -> Any:
            value = ctx.get(key)
            return value if value is not None else getattr(services, key, None)

        return cls(sessionmaker=ctx["sessionmaker"], redis=ctx["redis"], queue=ctx["queue"], qbo=pick("qbo"),
                   mapper=pick("mapper"), clock=ctx.get("clock") or utc_now,
                   worker_name=str(ctx.get("worker_name") or "worker"), on_written=pick("on_written"),
                   settings=pick("settings"))
