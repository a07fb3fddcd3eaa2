"""arq WorkerSettings and `run()`. arq reads the class's own __dict__: no inheritance here.

Nothing is read from the settings when this module is imported: `run()` reads them once, at start-up."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
from typing import Any

from arq.worker import get_kwargs
from sqlalchemy.ext.asyncio import AsyncEngine

from qbo_integration import logs
from qbo_integration.config import Settings, get_settings
from qbo_integration.db.session import make_engine, make_sessionmaker
from qbo_integration.heap import freeze_startup_heap
from qbo_integration.observability import init_sentry
from qbo_integration.services import build_services
from qbo_integration.worker import registry
from qbo_integration.worker.listener import EventListener
from qbo_integration.worker.outage import OutageTolerantWorker
from qbo_integration.worker.queue import QUEUE_NAME, JobQueue, redis_settings

logger = logging.getLogger(__name__)


def make_worker_engine(settings: Settings) -> AsyncEngine:
    """Many jobs, each holding a session only between QBO calls: they share a fixed number of connections,
    so a worker never opens more than WORKER_DB_CONNECTIONS however many jobs it runs."""
    return make_engine(settings.database_url, pool_size=settings.worker_db_connections, max_overflow=0)


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    settings.check_secrets()
    logs.configure_logging(settings.log_level)
    init_sentry(settings, component="worker")
    engine = make_worker_engine(settings)
    ctx["settings"] = settings
    ctx["engine"] = engine
    ctx["sessionmaker"] = make_sessionmaker(engine)
    ctx["queue"] = JobQueue(ctx["redis"])
    ctx["services"] = await build_services(settings, ctx["sessionmaker"], ctx["redis"], ctx["queue"])
    ctx["worker_name"] = f"{socket.gethostname()}:{os.getpid()}"
    if settings.worker_metrics_port:  # this process's counters; the API's /metrics adds DB/queue gauges
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port)
    listener = EventListener(ctx["redis"], functools.partial(registry.dispatch_event, ctx))
    ctx["listener"] = listener
    ctx["listener_task"] = asyncio.create_task(listener.run(), name="event-listener")
    freeze_startup_heap()
    logger.info("worker started", extra=logs.log_fields(worker=ctx["worker_name"]))


async def shutdown(ctx: dict[str, Any]) -> None:
    listener: EventListener | None = ctx.get("listener")
    task: asyncio.Task | None = ctx.get("listener_task")
    if listener and task:
        listener.stop()
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):  # noqa: BLE001
            pass
    if "services" in ctx:
        await ctx["services"].aclose()
    if "engine" in ctx:
        await ctx["engine"].dispose()
    logger.info("worker stopped")


class WorkerSettings:
    functions = registry.FUNCTIONS
    on_startup = startup
    on_shutdown = shutdown
    queue_name = QUEUE_NAME
    job_timeout = 600
    # arq looks for new jobs every poll_delay seconds (0.5 by default): up to half a second between a Sync
    # Now and its job's start. At 0.1 a poll costs a worker two Redis commands ten times a second.
    poll_delay = 0.1
    keep_result = 60
    health_check_interval = 30
    handle_signals = True


def _use_uvloop() -> None:
    """The worker runs on uvloop: in the fleet bench a sixth of a worker's CPU was asyncio's own socket
    writes. (The API does not: it accepts connections, see cli._serve.) uvloop comes with
    uvicorn[standard]; without it, asyncio's loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - not on this platform
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def run(*, burst: bool = False) -> None:
    """`qbo-integration worker`: the settings are read here, once."""
    settings = get_settings()
    settings.check_secrets()
    _use_uvloop()
    kwargs: dict[str, Any] = {**get_kwargs(WorkerSettings),  # type: ignore[arg-type]
                              "redis_settings": redis_settings(settings.redis_url),
                              "max_jobs": settings.worker_max_jobs, "cron_jobs": registry.cron_jobs(), "burst": burst}
    OutageTolerantWorker(**kwargs).run()
