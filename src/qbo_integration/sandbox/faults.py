"""Per-realm fault injection, decided by a seedable RNG."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FIELDS = ("latencyMs", "jitterMs", "error500Rate", "error503Rate", "timeoutRate", "timeoutSeconds",
          "commitThenDropRate", "commitThenDropFirst", "lateCommitRate", "lateCommitSeconds", "throttleStormSeconds", "throttleNextRequests", "downForSeconds", "seed")


def _count(body: dict, key: str) -> int:
    value = body.get(key, 0) or 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{key} must be a whole number >= 0")
    return value


@dataclass
class RealmFaults:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error500_rate: float = 0.0
    error503_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_seconds: float = 120.0
    commit_then_drop_rate: float = 0.0
    commit_then_drop_first: int = 0  # the next N writes are committed and their answers dropped, for certain
    # A write held this long before it is committed: the client has given up (its timeout is shorter)
    # while QBO goes on and commits it, so a look-up made soon after the timeout cannot see it yet.
    late_commit_rate: float = 0.0
    late_commit_seconds: float = 5.0
    storm_until: float = 0.0
    throttle_next: int = 0  # the next N requests get the storm's 429, whenever they come
    down_until: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    @property
    def active(self) -> bool:
        return any((self.latency_ms, self.jitter_ms, self.error500_rate, self.error503_rate,
                    self.timeout_rate, self.commit_then_drop_rate, self.commit_then_drop_first, self.late_commit_rate,
                    self.storm_until,
                    self.throttle_next, self.down_until))

    def configure(self, body: dict, now: float, default_seed: int) -> None:
        unknown = set(body) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        for key in ("error500Rate", "error503Rate", "timeoutRate", "commitThenDropRate", "lateCommitRate"):
            if not 0 <= float(body.get(key, 0) or 0) <= 1:
                raise ValueError(f"{key} must be between 0 and 1")
        self.latency_ms = float(body.get("latencyMs", 0) or 0)
        self.jitter_ms = float(body.get("jitterMs", 0) or 0)
        self.error500_rate = float(body.get("error500Rate", 0) or 0)
        self.error503_rate = float(body.get("error503Rate", 0) or 0)
        self.timeout_rate = float(body.get("timeoutRate", 0) or 0)
        self.timeout_seconds = float(body.get("timeoutSeconds", 120) or 0)
        self.commit_then_drop_rate = float(body.get("commitThenDropRate", 0) or 0)
        self.commit_then_drop_first = _count(body, "commitThenDropFirst")
        self.late_commit_rate = float(body.get("lateCommitRate", 0) or 0)
        late = body.get("lateCommitSeconds", 5)
        if isinstance(late, bool) or not isinstance(late, int | float) or not 0 <= late <= 600:
            raise ValueError("lateCommitSeconds must be a number of seconds between 0 and 600")
        self.late_commit_seconds = float(late)
        self.throttle_next = _count(body, "throttleNextRequests")
        storm, down = body.get("throttleStormSeconds"), body.get("downForSeconds")
        self.storm_until = now + float(storm) if storm else 0.0
        self.down_until = now + float(down) if down else 0.0
        self.rng = random.Random(body.get("seed", default_seed))

    def describe(self, now: float) -> dict:
        return {"latencyMs": self.latency_ms, "jitterMs": self.jitter_ms, "error500Rate": self.error500_rate,
                "error503Rate": self.error503_rate, "timeoutRate": self.timeout_rate,
                "timeoutSeconds": self.timeout_seconds, "commitThenDropRate": self.commit_then_drop_rate,
                "commitThenDropFirst": self.commit_then_drop_first, "lateCommitRate": self.late_commit_rate,
                "lateCommitSeconds": self.late_commit_seconds, "throttleNextRequests": self.throttle_next,
                "throttleStormSeconds": max(0.0, self.storm_until - now),
                "downForSeconds": max(0.0, self.down_until - now)}

    def delay(self) -> float:
        """Seconds to wait before answering (latency + jitter)."""
        if not (self.latency_ms or self.jitter_ms):
            return 0.0
        return (self.latency_ms + self.rng.uniform(0, self.jitter_ms)) / 1000

    def before(self, now: float) -> str | None:
        """A fault decided before the request runs: 'storm', 'down', 'timeout', '500', '503' or None."""
        if now < self.storm_until:
            return "storm"
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return "storm"
        if now < self.down_until:
            return "down"
        if self.timeout_rate and self.rng.random() < self.timeout_rate:
            return "timeout"
        if self.error500_rate and self.rng.random() < self.error500_rate:
            return "500"
        if self.error503_rate and self.rng.random() < self.error503_rate:
            return "503"
        return None

    def late_commit(self) -> float:
        """Seconds a write is held before it is committed (0: not held)."""
        if self.late_commit_rate and self.rng.random() < self.late_commit_rate:
            return self.late_commit_seconds
        return 0.0

    def drop_after_commit(self) -> bool:
        if self.commit_then_drop_first > 0:
            self.commit_then_drop_first -= 1
            return True
        return bool(self.commit_then_drop_rate) and self.rng.random() < self.commit_then_drop_rate
