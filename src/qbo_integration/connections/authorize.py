"""Where to send the admin's browser: the provider's authorize URL, PKCE when its discovery offers it.

The discovery document (settings `qbo_discovery_url`) is read once an hour per process; when it is
unreachable the configured `qbo_authorize_url` is used without PKCE (retried after a minute).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from qbo_integration.config import Settings
from qbo_integration.qbo.config import SCOPE_ACCOUNTING
from qbo_integration.qbo.oauth import code_challenge_s256

logger = logging.getLogger(__name__)

DISCOVERY_TTL = 3600.0
DISCOVERY_RETRY = 60.0
DISCOVERY_TIMEOUT = 5.0


@dataclass(frozen=True)
class Provider:
    authorize_url: str
    pkce: bool


_cache: dict[str, tuple[float, Provider]] = {}


async def provider(settings: Settings, http: httpx.AsyncClient, *,
                   clock: Callable[[], float] = time.monotonic) -> Provider:
    default = Provider(settings.qbo_authorize_url, pkce=False)
    url = settings.qbo_discovery_url
    if not url:
        return default
    hit = _cache.get(url)
    if hit is not None and hit[0] > clock():
        return hit[1]
    doc = None
    try:
        resp = await http.get(url, timeout=DISCOVERY_TIMEOUT, headers={"Accept": "application/json"})
        if resp.status_code == 200:
            doc = resp.json()
    except (httpx.HTTPError, ValueError):
        doc = None
    if isinstance(doc, dict):
        methods = doc.get("code_challenge_methods_supported") or []
        endpoint = doc.get("authorization_endpoint")
        found = Provider(
            authorize_url=endpoint if isinstance(endpoint, str) and endpoint.startswith("http") else default.authorize_url,
            pkce=isinstance(methods, list) and "S256" in methods,
        )
        _cache[url] = (clock() + DISCOVERY_TTL, found)
        return found
    logger.warning("OAuth discovery document unavailable; using the configured authorize URL without PKCE")
    _cache[url] = (clock() + DISCOVERY_RETRY, default)
    return default


def authorize_url(settings: Settings, prov: Provider, *, state: str, code_verifier: str | None) -> str:
    params = {
        "client_id": settings.qbo_client_id,
        "scope": SCOPE_ACCOUNTING,
        "redirect_uri": settings.qbo_redirect_uri,
        "response_type": "code",
        "state": state,
    }
    if code_verifier:
        params["code_challenge"] = code_challenge_s256(code_verifier)
        params["code_challenge_method"] = "S256"
    sep = "&" if "?" in prov.authorize_url else "?"
    return prov.authorize_url + sep + urlencode(params)
