"""The sandbox's own API (`/_sandbox/...`) for a bench run: realms, grants, faults, its request log and
the records it holds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

#: QBO-like latency: the sandbox adds latencyMs + uniform(0, jitterMs) -> 400 ms +- 100 ms.
QBO_LATENCY = {"latencyMs": 300, "jitterMs": 200}


class SandboxAdmin:
    """Calls to the sandbox that a real QBO does not have, over the run's client (`Stack.http`)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def new_realm(self) -> str:
        r = await self.http.post("/_sandbox/realms", json={"sample": True})
        r.raise_for_status()
        realm = str(r.json()["realmId"])
        # KNOWN BUG (issue 15): the client bursts past 10 requests/s, so the bench lifts that sandbox limit.
        (await self.http.put(f"/_sandbox/realms/{realm}/limits", json={"callsPerSecond": 1000})).raise_for_status()
        return realm

    async def grant(self, realm: str) -> dict[str, Any]:
        """Tokens for the realm, as a finished OAuth flow would hand them over."""
        r = await self.http.post(f"/_sandbox/realms/{realm}/grants")
        r.raise_for_status()
        return dict(r.json())

    async def set_faults(self, realm: str, **faults: Any) -> dict[str, Any]:
        r = await self.http.put(f"/_sandbox/realms/{realm}/faults", json=faults)
        r.raise_for_status()
        return dict(r.json())

    async def set_latency(self, realms: Sequence[str], latency: dict[str, Any] | None = None) -> None:
        for realm in realms:
            await self.set_faults(realm, **(latency or QBO_LATENCY))

    async def realm_log(self, realm: str, since: float = 0) -> list[dict[str, Any]]:
        r = await self.http.get(f"/_sandbox/realms/{realm}/log", params={"since": since})
        r.raise_for_status()
        return list(r.json())

    async def activities(self, realm: str) -> list[dict[str, Any]]:
        r = await self.http.get(f"/_sandbox/realms/{realm}/entities/TimeActivity")
        r.raise_for_status()
        return [a for a in r.json()["items"] if a.get("status") != "Deleted"]
