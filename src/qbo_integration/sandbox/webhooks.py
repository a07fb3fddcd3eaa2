"""Webhooks the way Intuit sends them: every create, update and delete of a notified entity becomes a
signed CloudEvent (or a legacy eventNotifications entry), batched per subscription, delivered in order,
and retried on Intuit's schedule while later deliveries wait behind a failing one.

Faults per subscription: drop (a batch silently never arrives), duplicate (it arrives twice), delay
(seconds before each delivery) and reorder (events of a batch shuffled, and consecutive batches swapped).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from qbo_integration.clock import utc_now

NOTIFIED = ("TimeActivity", "Employee", "Customer", "Vendor", "Item", "Class", "Department")
# Intuit retries about 10 s, 20 s, 30 s, 5 min, then every 6 h (qbo-wire.md); scaled by retry_scale.
RETRY_SCHEDULE = (10.0, 20.0, 30.0, 300.0, 21600.0)
MAX_ATTEMPTS = 8
_PAST = {"Create": "created", "Update": "updated", "Delete": "deleted"}


def sign(body: bytes, verifier_token: str) -> str:
    return base64.b64encode(hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Subscription:
    url: str
    verifier_token: str
    format: str = "cloudevents"  # cloudevents | legacy
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    delay_seconds: float = 0.0
    reorder: bool = False

    def describe(self) -> dict[str, Any]:
        return {"url": self.url, "format": self.format, "faults": {
            "dropRate": self.drop_rate, "duplicateRate": self.duplicate_rate,
            "delaySeconds": self.delay_seconds, "reorder": self.reorder}}


@dataclass
class Change:
    realm_id: str
    entity: str
    entity_id: str
    operation: str
    at: datetime
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def cloudevent(c: Change) -> dict[str, Any]:
    return {"specversion": "1.0", "id": c.event_id, "source": "intuit.sandbox",
            "type": f"qbo.{c.entity.lower()}.{_PAST[c.operation]}.v1", "datacontenttype": "application/json",
            "time": c.at.isoformat().replace("+00:00", "Z"), "intuitentityid": c.entity_id,
            "intuitaccountid": c.realm_id, "data": {}}


def legacy(changes: list[Change]) -> dict[str, Any]:
    by_realm: dict[str, list[Change]] = {}
    for c in changes:
        by_realm.setdefault(c.realm_id, []).append(c)
    return {"eventNotifications": [
        {"realmId": realm, "dataChangeEvent": {"entities": [
            {"name": c.entity, "id": c.entity_id, "operation": c.operation,
             "lastUpdated": c.at.isoformat().replace("+00:00", "Z")} for c in items]}}
        for realm, items in by_realm.items()]}


class WebhookHub:
    """One per sandbox: subscriptions by realm, and one in-order delivery loop per subscription URL."""

    def __init__(self, *, batch_seconds: float = 1.0, retry_scale: float = 1.0, seed: int = 42) -> None:
        self.batch_seconds = batch_seconds
        self.retry_scale = retry_scale
        self.subscriptions: dict[str, Subscription] = {}
        self.log: deque[dict[str, Any]] = deque(maxlen=10_000)
        self._pending: dict[str, list[Change]] = {}  # by url
        self._tasks: dict[str, asyncio.Task] = {}
        self._rng = random.Random(seed)

    def subscribe(self, realm_id: str, sub: Subscription) -> None:
        self.subscriptions[realm_id] = sub

    def unsubscribe(self, realm_id: str) -> None:
        self.subscriptions.pop(realm_id, None)

    def notify(self, realm_id: str, entity: str, entity_id: str, operation: str, at: float | None = None) -> None:
        """`at`: the record's LastUpdatedTime (epoch seconds), which the event carries, as QBO's do."""
        sub = self.subscriptions.get(realm_id)
        if sub is None or entity not in NOTIFIED or operation not in _PAST:
            return
        when = datetime.fromtimestamp(at, UTC) if at is not None else utc_now()
        self._pending.setdefault(sub.url, []).append(
            Change(realm_id, entity, entity_id, operation, when.replace(microsecond=0)))
        task = self._tasks.get(sub.url)
        if task is None or task.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop (sample data at start-up): stays pending until the next change
            self._tasks[sub.url] = loop.create_task(self._deliver_loop(sub.url))

    def _subscription_for(self, url: str) -> Subscription | None:
        return next((s for s in self.subscriptions.values() if s.url == url), None)

    def _bodies(self, sub: Subscription, changes: list[Change]) -> list[bytes]:
        if sub.reorder:
            self._rng.shuffle(changes)
        if sub.format == "legacy":
            return [json.dumps(legacy(changes)).encode()]
        return [json.dumps([cloudevent(c) for c in changes]).encode()]

    async def _deliver_loop(self, url: str) -> None:
        async with httpx.AsyncClient(timeout=10.0) as http:
            while self._pending.get(url):
                await asyncio.sleep(self.batch_seconds)
                sub = self._subscription_for(url)
                changes, self._pending[url] = self._pending.get(url, []), []
                if sub is None or not changes:
                    continue
                bodies = self._bodies(sub, changes)
                if sub.reorder and len(changes) > 1 and self._rng.random() < 0.5:
                    # hold this batch back behind the next one
                    half = len(changes) // 2
                    bodies = self._bodies(sub, changes[half:]) + self._bodies(sub, changes[:half])
                for body in bodies:
                    if self._rng.random() < sub.drop_rate:
                        self.log.append({"url": url, "dropped": True, "events": len(changes)})
                        continue
                    copies = 2 if self._rng.random() < sub.duplicate_rate else 1
                    for _ in range(copies):
                        await self._send(http, sub, body)

    async def _send(self, http: httpx.AsyncClient, sub: Subscription, body: bytes) -> None:
        """Deliver one body; while it fails, everything behind it waits (as Intuit holds later events)."""
        for attempt in range(MAX_ATTEMPTS):
            if sub.delay_seconds:
                await asyncio.sleep(sub.delay_seconds)
            status: int | str
            try:
                resp = await http.post(sub.url, content=body, headers={
                    "content-type": "application/json", "intuit-signature": sign(body, sub.verifier_token)})
                status = resp.status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            self.log.append({"url": sub.url, "attempt": attempt + 1, "status": status, "bytes": len(body)})
            if status == 200:
                return
            wait = RETRY_SCHEDULE[min(attempt, len(RETRY_SCHEDULE) - 1)] * self.retry_scale
            await asyncio.sleep(wait)
