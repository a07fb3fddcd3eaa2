"""Sandbox configuration (plain dataclass: the sandbox imports nothing of the service)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SandboxConfig:
    client_id: str = "dev-client-id"
    client_secret: str = "dev-only-client-secret"
    redirect_uris: list[str] = field(default_factory=list)  # empty = any
    auto_approve: bool = False
    auto_approve_realm: str | None = None
    sample_realms: int = 1
    seed: int = 42
    limits_enabled: bool = True  # default for new realms; switchable per realm via admin API
    # QBO refuses Billable time without HourlyRate; default for new realms, switchable per realm.
    billable_needs_hourly_rate: bool = True
    company_utc_offset: str = "-08:00"  # fixed offset used for MetaData times and "today"
    # Wall clock (epoch seconds). Tests inject a movable clock instead of sleeping.
    clock: Callable[[], float] = time.time
    # Limits (per realm and client app), as QBO documents them.
    calls_per_minute: int = 500
    calls_per_second: int = 10
    concurrent_requests: int = 10
    batch_requests_per_minute: int = 40
    max_batch_items: int = 30
    access_token_seconds: int = 3600
    refresh_token_seconds: int = 8726400
    # How long a refresh token stays usable after it was used to refresh (0 = superseded at once).
    refresh_grace_seconds: int = 0
    # A grant's refresh tokens end at most this long after the consent (Intuit's 5-year maximum). The
    # token endpoint reports what is left as `x_refresh_token_hard_expires_in` when the request opts in
    # with the header `x-include-refresh-token-hard-expires-in: true`, as Intuit's does.
    refresh_hard_max_seconds: int = 5 * 365 * 86400
    auth_code_seconds: int = 300
    cdc_lookback_days: int = 30
    log_max_entries: int = 200_000
    request_id_memory_seconds: float | None = None  # how long a realm remembers a requestid; None = forever
    # Webhooks: how long changes gather into one delivery, and a factor on Intuit's retry schedule
    # (10 s, 20 s, 30 s, 5 min, 6 h; 0.01 makes the first retry 0.1 s).
    webhook_batch_seconds: float = 1.0
    webhook_retry_scale: float = 1.0
    # Subscribe every realm at start-up (the --webhook-url / --webhook-verifier flags).
    webhook_url: str | None = None
    webhook_verifier: str = "dev-only-webhook-verifier"
