"""Structured JSON logs. Context (request, company, realm, job ids) rides in contextvars."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

_CONTEXT_KEYS = ("request_id", "company_id", "realm_id", "job_id", "event_id", "timecard_id")
_log_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("log_context", default=None)


def bind(**values: Any) -> contextvars.Token:
    current = dict(_log_context.get() or {})
    current.update({k: str(v) for k, v in values.items() if v is not None})
    return _log_context.set(current)


def reset(token: contextvars.Token) -> None:
    _log_context.reset(token)


@contextmanager
def log_context(**values: Any) -> Iterator[None]:
    token = bind(**values)
    try:
        yield
    finally:
        reset(token)


def current_context() -> dict[str, Any]:
    return dict(_log_context.get() or {})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(current_context())
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "botocore", "aiobotocore", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # uvicorn's access log carries raw query strings (OAuth codes, state): keep it off.
    logging.getLogger("uvicorn.access").disabled = True


def log_fields(**fields: Any) -> dict[str, Any]:
    """`logger.info("msg", extra=log_fields(count=3))` adds keys to the JSON line."""
    return {"fields": fields}
