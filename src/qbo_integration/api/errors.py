"""One JSON error format for every error: {"error": {"code", "message", "details"?, "requestId"}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from qbo_integration import logs
from qbo_integration.errors import AppError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5  # what a 503 for an unreachable Redis or database tells the client to wait

_HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
               422: "invalid_input", 429: "rate_limited", 503: "unavailable"}


def error_payload(code: str, message: str, request_id: str | None, details: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message, "requestId": request_id}
    if details is not None:
        err["details"] = details
    return {"error": err}


def error_body(request: Request, code: str, message: str, details: Any = None) -> dict[str, Any]:
    return error_payload(code, message, getattr(request.state, "request_id", None), details)


INTERNAL_ERROR = ("internal_error", "Internal server error")


def _describe_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    details = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")]
        problem = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        details.append({"field": ".".join(loc) or "body", "problem": problem})
    first = details[0] if details else {"field": "request", "problem": "invalid"}
    return f"{first['field']}: {first['problem']}", details


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(error_body(request, exc.code, exc.message, exc.details), exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = _describe_validation(exc)
        return JSONResponse(error_body(request, "invalid_input", message, details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        return JSONResponse(error_body(request, code, str(exc.detail)), exc.status_code, headers=exc.headers)

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    async def _redis_down(request: Request, exc: Exception) -> JSONResponse:
        return _unavailable(request, "Redis: the job queue, locks and QuickBooks rate limits", exc)

    @app.exception_handler(WatchError)
    async def _redis_dropped_in_watch(request: Request, exc: Exception) -> JSONResponse:
        # redis-py reports a connection lost inside WATCH (arq's enqueue) as a WatchError saying so
        # (seen in the operations campaign during a Redis restart); any other WatchError is a bug.
        if "ConnectionError" in str(exc):
            return _unavailable(request, "Redis: the job queue, locks and QuickBooks rate limits", exc)
        raise exc

    @app.exception_handler(ConnectionError)  # the database's connection refused or reset (asyncpg raises these)
    async def _connection_down(request: Request, exc: Exception) -> JSONResponse:
        return _unavailable(request, "the database", exc)

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:  # the connection died under the request
            return _unavailable(request, "the database", exc)
        raise exc  # any other database error is a bug: a 500 from RequestIdMiddleware, as any unhandled error


def _unavailable(request: Request, service: str, exc: Exception) -> JSONResponse:
    """A backing service restarting or failing over is an outage of seconds, not a bug: 503 and when to retry."""
    logger.warning("a service did not answer a request",
                   extra=logs.log_fields(service=service.split(":")[0], error=type(exc).__name__))
    message = f"A service this request needs ({service}) did not answer. Try again in {RETRY_AFTER_SECONDS} seconds."
    return JSONResponse(error_body(request, "unavailable", message), 503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

