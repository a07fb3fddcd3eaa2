"""Helpers that drive the OAuth connect flow: our API (ASGI client) and the sandbox (real HTTP)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.connections.models import Integration, OAuthState

API = "/api/v1/integrations/quickbooks"


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def start(client: httpx.AsyncClient, company_id: uuid.UUID, headers: dict[str, str]) -> str:
    """GET /connect?format=json -> the authorize URL."""
    resp = await client.get(f"{API}/connect", params={"companyId": str(company_id), "format": "json"},
                            headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["authorizeUrl"]


async def new_realm(sandbox: httpx.AsyncClient, name: str | None = None) -> dict:
    body: dict = {"sample": True}
    if name:
        body["companyName"] = name
    resp = await sandbox.post("/_sandbox/realms", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def consent(sandbox: httpx.AsyncClient, authorize_url: str, realm_id: str, *,
                  decision: str = "approve") -> dict[str, str]:
    """Show the sandbox's consent page like a browser, post the decision; returns the callback's query."""
    page = await sandbox.get(authorize_url)
    assert page.status_code == 200, page.text
    assert "form" in page.text.lower()
    form = {**query_of(authorize_url), "decision": decision, "realmId": realm_id}
    resp = await sandbox.post("/connect/oauth2/decision", data=form)
    assert resp.status_code == 302, resp.text
    return query_of(resp.headers["location"])


def binding_cookie(state: str) -> dict[str, str]:
    """The Cookie header of a browser that started the flow for `state` (what /connect sets)."""
    from qbo_integration.connections.endpoints import BINDING_COOKIE, _binding

    return {"Cookie": f"{BINDING_COOKIE}={_binding(state)}"}


async def callback(client: httpx.AsyncClient, params: dict[str, str], *, html: bool = False,
                   headers: dict[str, str] | None = None, bound_to: str | None = None) -> httpx.Response:
    """The callback from `client` (its cookie jar carries /connect's binding cookie); `bound_to`: send
    the binding cookie of that state instead, as the browser that started its flow would."""
    h = dict(headers or {})
    if bound_to is not None:
        h.update(binding_cookie(bound_to))
    h["Accept"] = "text/html,application/xhtml+xml" if html else "application/json"
    return await client.get(f"{API}/callback", params=params, headers=h)


async def connect(client: httpx.AsyncClient, sandbox: httpx.AsyncClient, company_id: uuid.UUID,
                  headers: dict[str, str], realm_id: str) -> tuple[httpx.Response, dict[str, str]]:
    """The whole browser round trip; returns the callback answer and the callback's parameters."""
    url = await start(client, company_id, headers)
    params = await consent(sandbox, url, realm_id)
    return await callback(client, params), params


@dataclass
class Snapshot:
    counts: dict[str, int]
    integrations: list[tuple]


async def snapshot(sessionmaker: async_sessionmaker[AsyncSession]) -> Snapshot:
    """Row counts of every table plus the integration rows' connection columns (to prove nothing changed)."""
    from qbo_integration.db.models import metadata

    counts = {}
    async with sessionmaker() as s:
        for t in metadata.sorted_tables:
            name = f'"{t.schema}"."{t.name}"' if t.schema else f'"{t.name}"'
            counts[name] = (await s.execute(text(f"SELECT count(*) FROM {name}"))).scalar_one()
        rows = (await s.execute(select(
            Integration.company_id, Integration.connection_status, Integration.realm_id,
            Integration.access_token_enc, Integration.refresh_token_enc, Integration.enabled,
            Integration.last_test_at).order_by(Integration.company_id))).all()
        used = (await s.execute(select(func.count()).select_from(OAuthState).where(OAuthState.used_at.is_not(None)))
                ).scalar_one()
    counts["oauth_states used"] = used
    return Snapshot(counts, [tuple(r) for r in rows])
