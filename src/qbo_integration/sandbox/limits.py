"""QBO's per-realm (per app) limits: sliding 60 s windows, 10 requests in any second, a concurrency cap."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

WINDOW = 60.0
SECOND = 1.0


@dataclass
class RealmLimits:
    calls_per_minute: int = 500
    concurrent: int = 10
    batches_per_minute: int = 40
    enabled: bool = True
    calls_per_second: int = 10  # requests (a batch is one), sliding one-second window
    calls: deque = field(default_factory=deque)  # (ts, items), running total in `used`
    batches: deque = field(default_factory=deque)  # ts
    recent: deque = field(default_factory=deque)  # ts of requests admitted in the last second
    used: int = 0
    inflight: int = 0

    def _prune(self, now: float) -> None:
        edge = now - WINDOW
        while self.calls and self.calls[0][0] <= edge:
            self.used -= self.calls.popleft()[1]
        while self.batches and self.batches[0] <= edge:
            self.batches.popleft()
        while self.recent and self.recent[0] <= now - SECOND:
            self.recent.popleft()

    def acquire(self, now: float, items: int = 1, is_batch: bool = False) -> bool:
        """True if the request may run (then call release()); False = throttle (429)."""
        if not self.enabled:
            self.inflight += 1
            return True
        self._prune(now)
        if self.inflight >= self.concurrent:
            return False
        if self.used + items > self.calls_per_minute:
            return False
        if len(self.recent) >= self.calls_per_second:
            return False
        if is_batch and len(self.batches) >= self.batches_per_minute:
            return False
        self.calls.append((now, items))
        self.used += items
        self.recent.append(now)
        if is_batch:
            self.batches.append(now)
        self.inflight += 1
        return True

    def release(self) -> None:
        self.inflight = max(0, self.inflight - 1)

    def usage(self, now: float) -> dict:
        self._prune(now)
        return {"enabled": self.enabled, "callsInWindow": self.used, "batchesInWindow": len(self.batches),
                "callsInLastSecond": len(self.recent), "callsPerSecond": self.calls_per_second,
                "inflight": self.inflight, "callsPerMinute": self.calls_per_minute,
                "concurrent": self.concurrent, "batchesPerMinute": self.batches_per_minute}
