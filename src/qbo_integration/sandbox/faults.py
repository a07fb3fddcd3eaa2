"""Per-realm fault injection, decided by a seedable RNG."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FIELDS = ("latencyMs", "jitterMs", "error500Rate", "error503Rate", "timeoutRate", "timeoutSeconds",
          "commitThenDropRate", "throttleStormSeconds", "downForSeconds", "seed")


@dataclass
class RealmFaults:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error500_rate: float = 0.0
    error503_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_seconds: float = 120.0
    commit_then_drop_rate: float = 0.0
    storm_until: float = 0.0
    down_until: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    @property
    def active(self) -> bool:
        return any((self.latency_ms, self.jitter_ms, self.error500_rate, self.error503_rate,
                    self.timeout_rate, self.commit_then_drop_rate, self.storm_until, self.down_until))

    def configure(self, body: dict, now: float, default_seed: int) -> None:
        unknown = set(body) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        for key in ("error500Rate", "error503Rate", "timeoutRate", "commitThenDropRate"):
            if not 0 <= float(body.get(key, 0) or 0) <= 1:
                raise ValueError(f"{key} must be between 0 and 1")
        self.latency_ms = float(body.get("latencyMs", 0) or 0)
        self.jitter_ms = float(body.get("jitterMs", 0) or 0)
        self.error500_rate = float(body.get("error500Rate", 0) or 0)
        self.error503_rate = float(body.get("error503Rate", 0) or 0)
        self.timeout_rate = float(body.get("timeoutRate", 0) or 0)
        self.timeout_seconds = float(body.get("timeoutSeconds", 120) or 0)
        self.commit_then_drop_rate = float(body.get("commitThenDropRate", 0) or 0)
        storm, down = body.get("throttleStormSeconds"), body.get("downForSeconds")
        self.storm_until = now + float(storm) if storm else 0.0
        self.down_until = now + float(down) if down else 0.0
        self.rng = random.Random(body.get("seed", default_seed))

    def describe(self, now: float) -> dict:
        return {"latencyMs": self.latency_ms, "jitterMs": self.jitter_ms, "error500Rate": self.error500_rate,
                "error503Rate": self.error503_rate, "timeoutRate": self.timeout_rate,
                "timeoutSeconds": self.timeout_seconds, "commitThenDropRate": self.commit_then_drop_rate,
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
        if now < self.down_until:
            return "down"
        if self.timeout_rate and self.rng.random() < self.timeout_rate:
            return "timeout"
        if self.error500_rate and self.rng.random() < self.error500_rate:
            return "500"
        if self.error503_rate and self.rng.random() < self.error503_rate:
            return "503"
        return None

    def drop_after_commit(self) -> bool:
        return bool(self.commit_then_drop_rate) and self.rng.random() < self.commit_then_drop_rate
