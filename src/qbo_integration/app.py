"""create_app(): the FastAPI application. The lifespan opens engine, Redis and the job queue's pool once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis

from qbo_integration import logs
from qbo_integration.api import openapi_doc, system
from qbo_integration.api.body_limit import BodyLimitMiddleware
from qbo_integration.api.errors import install_error_handlers
from qbo_integration.api.middleware import RequestIdMiddleware
from qbo_integration.api.router import WEBHOOKS_PATH, build_integrations_router
from qbo_integration.config import Settings, get_settings
from qbo_integration.db.session import make_engine, make_sessionmaker
from qbo_integration.heap import freeze_startup_heap
from qbo_integration.observability import init_sentry
from qbo_integration.queue import JobQueue
from qbo_integration.services import build_services
from qbo_integration.worker.queue import open_pool

CONSOLE_DIR = Path(__file__).parent / "console" / "static"


def create_app(settings: Settings | None = None, *, freeze_heap: bool = False) -> FastAPI:
    """freeze_heap: exempt the start-up heap from the collector (heap.py); for a process that serves only this app."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.check_secrets()
        engine = make_engine(settings.database_url)
        redis = Redis.from_url(settings.redis_url)
        pool = await open_pool(settings.redis_url)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.redis = redis
        app.state.queue = JobQueue(pool)
        app.state.services = await build_services(settings, app.state.sessionmaker, redis, app.state.queue)
        if freeze_heap:
            freeze_startup_heap()
        try:
            yield
        finally:
            await app.state.services.aclose()
            await pool.aclose()
            await redis.aclose()
            await engine.dispose()

    logs.configure_logging(settings.log_level)
    init_sentry(settings, component="api")
    docs = settings.docs_enabled  # production: off unless API_DOCS_ENABLED=true (openapi.yaml is the contract)
    app = FastAPI(
        title="qbo-integration",
        version="0.1.0",
        summary="CrewFlow <-> QuickBooks Online integration API",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.settings = settings
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_body_bytes,  # the webhook's is lower
                       per_path={WEBHOOKS_PATH: min(settings.webhook_max_body_bytes, settings.max_request_body_bytes)})
    app.add_middleware(RequestIdMiddleware)  # added last = outermost: the 413 carries the request id too
    install_error_handlers(app)
    openapi_doc.install(app)
    app.include_router(system.router)
    app.include_router(build_integrations_router())
    if settings.env == "dev":
        from qbo_integration.api import dev_routes

        app.include_router(dev_routes.router)
    if CONSOLE_DIR.is_dir():
        app.mount("/console", StaticFiles(directory=CONSOLE_DIR, html=True), name="console")
    return app


def create_served_app() -> FastAPI:
    """`qbo-integration serve`'s factory: the app is the process."""
    return create_app(freeze_heap=True)
