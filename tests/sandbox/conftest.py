"""Shared fixtures: one real sandbox server per session (uvicorn thread), a movable clock,
and a fresh realm + token per test so limits, faults and data never leak between tests."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from qbo_integration.sandbox.config import SandboxConfig
from qbo_integration.sandbox.runner import SandboxServer

CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"
REDIRECT = "http://localhost:9999/callback"


class MovableClock:
    """Real time plus an offset tests can advance instead of sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.frozen_at: float | None = None

    def __call__(self) -> float:
        return self.frozen_at if self.frozen_at is not None else time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        if self.frozen_at is not None:
            self.frozen_at += seconds

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Time stands still (but advance() moves it): for tests of what happens within one second."""
        self.frozen_at = self()
        try:
            yield
        finally:
            self.offset = self.frozen_at - time.time()
            self.frozen_at = None


@pytest.fixture(scope="session")
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture(scope="session")
def server(clock: MovableClock):
    config = SandboxConfig(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[REDIRECT],
                           sample_realms=2, clock=clock)
    with SandboxServer(config=config) as srv:
        yield srv


# QBO admits 10 requests per realm in any second. These tests talk to the sandbox as fast as the
# machine allows, so each request moves the clock on by a tenth of a second (no sleeping); the
# tests of the per-second limit itself use a client without this hook.
TICK = 0.11


@pytest.fixture(scope="session")
async def http(server: SandboxServer, clock: MovableClock) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)

    async def tick(_request: httpx.Request) -> None:
        clock.advance(TICK)

    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=10,
                                 event_hooks={"request": [tick]}) as client:
        yield client


@dataclass
class Company:
    http: httpx.AsyncClient
    realm_id: str
    tokens: dict

    @property
    def base(self) -> str:
        return f"/v3/company/{self.realm_id}"

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.tokens['access_token']}", "Accept": "application/json"}

    async def get(self, path: str, **params) -> httpx.Response:
        params.setdefault("minorversion", 75)
        return await self.http.get(self.base + path, params=params, headers=self.headers)

    async def post(self, path: str, json=None, **params) -> httpx.Response:
        params.setdefault("minorversion", 75)
        return await self.http.post(self.base + path, params=params, json=json, headers=self.headers)

    async def query(self, sql: str) -> httpx.Response:
        return await self.get("/query", query=sql)

    async def admin(self, method: str, path: str, **kw) -> httpx.Response:
        return await self.http.request(method, f"/_sandbox/realms/{self.realm_id}{path}", **kw)

    async def log(self) -> list[dict]:
        return (await self.admin("GET", "/log")).json()


async def new_company(http: httpx.AsyncClient, sample: bool = True) -> Company:
    r = await http.post("/_sandbox/realms", json={"sample": sample})
    r.raise_for_status()
    realm_id = r.json()["realmId"]
    tokens = (await http.post(f"/_sandbox/realms/{realm_id}/grants")).json()
    return Company(http, realm_id, tokens)


@pytest.fixture
async def company(http: httpx.AsyncClient) -> Company:
    return await new_company(http)


def time_activity(**overrides) -> dict:
    body = {"NameOf": "Employee", "EmployeeRef": {"value": "1"}, "CustomerRef": {"value": "1"},
            "ItemRef": {"value": "1"}, "TxnDate": "2026-03-02", "Hours": 8, "Minutes": 30,
            "BillableStatus": "Billable", "HourlyRate": 65, "Description": "Framing, level 2"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def fault_error(resp: httpx.Response) -> dict:
    body = resp.json()
    assert set(body) == {"Fault", "time"}, body
    errors = body["Fault"]["Error"]
    assert len(errors) == 1
    assert set(errors[0]) == {"Message", "Detail", "code", "element"}
    return {**errors[0], "type": body["Fault"]["type"]}
