"""Sentry, when a DSN is set. Nothing personal or secret is sent.

sentry-sdk 3 collects by default what 2.x sent only with `send_default_pii`; `init_sentry` turns each
`data_collection` category off. Local variables are off: the QBO request loop holds the access token and its headers in
locals. Everything else an event, breadcrumb or log carries goes through one redactor (`redact`): values
under a secret-sounding key are replaced, and bearer tokens or `token=`/`code=`/`state=` pairs inside any
string are masked. Spans never go through those hooks, so none is ever sampled, not even when a caller's
`sentry-trace` header asks for it.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any

from qbo_integration.config import Settings

REDACTED = "[redacted]"
_SECRET_KEYS = ("token", "secret", "password", "authorization", "code", "state", "cookie", "key", "assertion",
                "signature")
_SECRET_IN_TEXT = re.compile(
    r"(?i)(bearer\s+|basic\s+)[A-Za-z0-9._~+/=-]+"
    r"|((?:access_token|refresh_token|id_token|client_secret|code|state|password)[\"']?\s*[=:]\s*[\"']?)"
    r"[^&\s\"',;}]+"
)
# Parts of an event that are structure, not payload: their keys ("status_code", "mechanism") are not secrets.
_STRUCTURAL = ("exception", "threads", "contexts", "sdk", "modules", "debug_meta")


def _secret_key(key: Any) -> bool:
    k = str(key).lower()
    return any(s in k for s in _SECRET_KEYS)


def _mask(text: str) -> str:
    return _SECRET_IN_TEXT.sub(lambda m: (m.group(1) or m.group(2)) + REDACTED, text)


def redact(value: Any, *, by_key: bool = True) -> Any:
    """A copy of `value` with secrets masked: by key (when `by_key`) and inside every string."""
    if isinstance(value, dict):
        return {k: REDACTED if by_key and _secret_key(k) and v not in (None, "") else redact(v, by_key=by_key)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, by_key=by_key) for v in value]
    if isinstance(value, str):
        return _mask(value)
    return value


def _before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    event.pop("user", None)
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        request.pop("data", None)
        request["query_string"] = REDACTED if request.get("query_string") else None
    for frames in _frames(event):
        for frame in frames:
            frame.pop("vars", None)  # belt and braces: include_local_variables is off
    out: dict[str, Any] = {k: redact(v, by_key=k not in _STRUCTURAL) for k, v in event.items()}
    return out


def _frames(event: dict[str, Any]) -> list[list[dict[str, Any]]]:
    found = []
    for section in ("exception", "threads"):
        for value in (event.get(section) or {}).get("values") or []:
            frames = (value.get("stacktrace") or {}).get("frames")
            if isinstance(frames, list):
                found.append([f for f in frames if isinstance(f, dict)])
    return found


def _before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    return redact(crumb)  # type: ignore[no-any-return]


def _before_send_log(log: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    return {**log, "body": _mask(str(log.get("body") or "")), "attributes": redact(log.get("attributes") or {})}


def _never_trace(sampling_context: dict[str, Any]) -> float:
    return 0.0  # a sampler, unlike traces_sample_rate=0 or None, also overrides an incoming sampled trace


def init_sentry(settings: Settings, *, component: str, transport: Any = None) -> None:
    if not settings.sentry_dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "denylist", "terms": list(_SECRET_KEYS)}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "database_query_data": False,
            "queues": False,  # arq jobs' arguments
            "graphql": {"document": False, "variables": False},
            "gen_ai": {"inputs": False, "outputs": False},
            "mcp": {"inputs": False, "outputs": False},
            "stack_frame_variables": False,
        },
        max_request_body_size="never",
        attach_stacktrace=False,  # 3.x's default adds a stack to every logged error: 2.x's events and grouping
        # 3.x no longer installs it by default, and by default would send INFO lines as Sentry Logs:
        # errors logged become events (the API's unhandled errors are reported this way), INFO breadcrumbs.
        integrations=[LoggingIntegration(level=None, event_level=logging.ERROR, breadcrumb_level=logging.INFO)],
        environment=settings.env,
        before_send=_before_send,  # type: ignore[arg-type]
        before_breadcrumb=_before_breadcrumb,
        before_send_log=_before_send_log,  # type: ignore[arg-type]
        server_name=component,
        traces_sampler=_never_trace,
        transport=transport,
    )


@contextlib.contextmanager
def request_scope(request_id: str) -> Iterator[None]:
    """Sentry events sent while handling one request carry its id as the tag `request_id` (a scope of
    the request's own, so the tag never leaks into another request's events). Nothing without Sentry."""
    import sentry_sdk

    if not sentry_sdk.get_client().is_active():
        yield
        return
    with sentry_sdk.isolation_scope() as scope:
        scope.set_tag("request_id", request_id)
        yield
