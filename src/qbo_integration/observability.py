"""Sentry, when a DSN is set. Nothing personal or secret is sent."""

from __future__ import annotations

from typing import Any

from qbo_integration.config import Settings

_SECRET_KEYS = ("token", "secret", "password", "authorization", "code", "state", "cookie", "key")


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("[redacted]" if any(s in str(k).lower() for s in _SECRET_KEYS) else _scrub(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        request.pop("data", None)
        request["query_string"] = "[redacted]" if request.get("query_string") else None
        if isinstance(request.get("headers"), dict):
            request["headers"] = _scrub(request["headers"])
    event.pop("user", None)
    if "extra" in event:
        event["extra"] = _scrub(event["extra"])
    return event


def init_sentry(settings: Settings, *, component: str) -> None:
    if not settings.sentry_dsn:
        return
    import sentry_sdk

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        send_default_pii=False,
        environment=settings.env,
        before_send=_before_send,  # type: ignore[arg-type]
        server_name=component,
        traces_sample_rate=0.0,
    )
