"""SRE endpoints: /health (liveness, no I/O), /ready (database and Redis), /metrics (Prometheus)."""

from __future__ import annotations

import asyncio
import hmac
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from qbo_integration.config import Settings
from qbo_integration.errors import Forbidden, Unauthenticated

router = APIRouter(tags=["system"])
logger = logging.getLogger(__name__)


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _check_db(request: Request) -> str | None:
    try:
        async with request.app.state.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=2)
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return type(exc).__name__


async def _check_redis(request: Request) -> str | None:
    try:
        await asyncio.wait_for(request.app.state.redis.ping(), timeout=2)
        return None
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__


@router.get("/ready", summary="Readiness: database and Redis answer",
            responses={503: {"description": "A dependency is down; the body names it"}})
async def ready(request: Request) -> JSONResponse:
    db_err, redis_err = await asyncio.gather(_check_db(request), _check_redis(request))
    checks = {"database": "ok" if db_err is None else "down", "redis": "ok" if redis_err is None else "down"}
    down = [name for name, state in checks.items() if state == "down"]
    if down:
        logger.warning("not ready", extra={"fields": {"down": down}})
        return JSONResponse({"status": "unavailable", "checks": checks,
                             "error": {"code": "unavailable", "message": f"Not ready: {', '.join(down)} down"}},
                            status_code=503)
    return JSONResponse({"status": "ready", "checks": checks})


def check_scraper(settings: Settings, authorization: str | None) -> None:
    """With METRICS_TOKEN, only its bearer reads the metrics; without, only dev/test do (they name companies)."""
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    if not token:
        if settings.is_dev:
            return
        raise Forbidden("/metrics is off in production until METRICS_TOKEN is set (then scrape with "
                        "Authorization: Bearer <METRICS_TOKEN>)")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthenticated("/metrics needs Authorization: Bearer <METRICS_TOKEN>")


@router.get("/metrics", summary="Prometheus metrics of this API process (plus DB/queue gauges)",
            response_class=Response,
            responses={200: {"content": {"text/plain": {}}},
                       401: {"description": "METRICS_TOKEN is set and the request did not send it as a bearer"},
                       403: {"description": "Production without METRICS_TOKEN: metrics are off"}})
async def metrics(request: Request) -> Response:
    from qbo_integration.health import scrape

    check_scraper(request.app.state.settings, request.headers.get("authorization"))
    state = request.app.state
    await scrape.refresh(getattr(state, "sessionmaker", None), getattr(state, "queue", None),
                         getattr(state, "redis", None))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
