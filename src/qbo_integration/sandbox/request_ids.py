"""QBO's `requestid` memory for one realm: replay the first answer, forget after a while.

Keyed by the request id alone, as QBO does (qbo-wire.md): a repeated id gets the stored answer back
whatever the new body says (no second change, and no error for a different body). QBO does not
document how long it keeps an id; here that is `seconds` (None = forever, the default), settable per
realm (`PUT /_sandbox/realms/{realm}/request-ids {"memorySeconds": 5}`) and for new realms with
`qbo-integration sandbox --request-id-memory SECONDS`. Past it the id is unknown: the same request
is executed again as a new one, which is what a client must survive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestIdMemory:
    seconds: float | None = None
    entries: dict[str, tuple[float, int, bytes]] = field(default_factory=dict)

    def recall(self, request_id: str, now: float) -> tuple[int, bytes] | None:
        entry = self.entries.get(request_id)
        if entry is None:
            return None
        stored_at, status, body = entry
        if self.seconds is not None and now - stored_at >= self.seconds:
            del self.entries[request_id]
            return None
        return status, body

    def remember(self, request_id: str, now: float, status: int, body: bytes) -> None:
        self.entries[request_id] = (now, status, body)
        if self.seconds is not None and len(self.entries) > 1000:
            self._forget_expired(now)

    def _forget_expired(self, now: float) -> None:
        assert self.seconds is not None
        for key in [k for k, (at, _, _) in self.entries.items() if now - at >= self.seconds]:
            del self.entries[key]

    def forget_all(self) -> int:
        n = len(self.entries)
        self.entries.clear()
        return n

    def configure(self, body: Any) -> None:
        """`{"memorySeconds": number >= 0 | null}`; anything else is a ValueError (nothing changed)."""
        if not isinstance(body, dict) or set(body) != {"memorySeconds"}:
            raise ValueError('expected exactly {"memorySeconds": <seconds >= 0, or null for forever>}')
        self.seconds = parse_seconds(body["memorySeconds"])

    def describe(self, now: float) -> dict[str, Any]:
        if self.seconds is not None:
            self._forget_expired(now)
        return {"memorySeconds": self.seconds, "remembered": len(self.entries)}


def parse_seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != value:
        raise ValueError("memorySeconds must be a number of seconds >= 0, or null (remember forever)")
    return float(value)
