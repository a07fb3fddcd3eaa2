"""Settings, read from the environment and `.env`.

Outside dev/test the service refuses to start while any secret still holds a
placeholder, and names the setting that is wrong.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from qbo_integration.qbo.config import (
    INTUIT_AUTHORIZE_URL,
    INTUIT_DISCOVERY_URL,
    INTUIT_PRODUCTION_API,
    INTUIT_REVOKE_URL,
    INTUIT_SANDBOX_API,
    INTUIT_TOKEN_URL,
)

PLACEHOLDER_MARKERS = ("change-me", "changeme", "placeholder", "dev-only")

# Intuit's endpoints are defined once, by the QBO client (qbo/config.py); dev mode points these settings at
# the built-in sandbox.
INTUIT_API_BASE = INTUIT_PRODUCTION_API
INTUIT_SANDBOX_API_BASE = INTUIT_SANDBOX_API

DEV_ENCRYPTION_KEY = "k1:" + base64.urlsafe_b64encode(b"dev-only-key-dev-only-key-dev-on").decode()


class ConfigError(RuntimeError):
    """A setting is missing or still holds a placeholder outside dev mode."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    env: Literal["dev", "test", "production"] = Field("production", alias="QBOI_ENV")

    database_url: str = Field("postgresql+asyncpg://postgres@127.0.0.1:5432/qbo_integration", alias="DATABASE_URL")
    redis_url: str = Field("redis://127.0.0.1:6379/0", alias="REDIS_URL")

    # "kid:base64url(32 bytes)" entries, comma-separated; the first one encrypts, all decrypt.
    token_encryption_keys: SecretStr = Field(SecretStr(DEV_ENCRYPTION_KEY), alias="TOKEN_ENCRYPTION_KEYS")

    # Core Platform's bearer JWTs: HS256 shared secret or an RS256 JWKS URL.
    jwt_secret: SecretStr = Field(SecretStr("dev-only-jwt-secret-change-me-0123456789"), alias="JWT_SECRET")
    jwt_jwks_url: str | None = Field(None, alias="JWT_JWKS_URL")
    jwt_issuer: str = Field("crewflow-core", alias="JWT_ISSUER")
    jwt_audience: str = Field("qbo-integration", alias="JWT_AUDIENCE")

    # QuickBooks app credentials and endpoints.
    qbo_client_id: str = Field("dev-client-id", alias="QBO_CLIENT_ID")
    qbo_client_secret: SecretStr = Field(SecretStr("dev-only-client-secret"), alias="QBO_CLIENT_SECRET")
    qbo_redirect_uri: str = Field(
        "http://127.0.0.1:8000/api/v1/integrations/quickbooks/callback", alias="QBO_REDIRECT_URI"
    )
    qbo_api_base_url: str = Field(INTUIT_API_BASE, alias="QBO_API_BASE_URL")
    qbo_authorize_url: str = Field(INTUIT_AUTHORIZE_URL, alias="QBO_AUTHORIZE_URL")
    qbo_token_url: str = Field(INTUIT_TOKEN_URL, alias="QBO_TOKEN_URL")
    qbo_revoke_url: str = Field(INTUIT_REVOKE_URL, alias="QBO_REVOKE_URL")
    qbo_discovery_url: str | None = Field(INTUIT_DISCOVERY_URL, alias="QBO_DISCOVERY_URL")
    qbo_minor_version: int = Field(75, alias="QBO_MINOR_VERSION")
    qbo_timeout_seconds: float = Field(120.0, alias="QBO_TIMEOUT_SECONDS")

    # Intuit webhooks: the app's verifier token signs every delivery (intuit-signature header).
    qbo_webhook_verifier_token: SecretStr | None = Field(SecretStr("dev-only-webhook-verifier"),
                                                         alias="QBO_WEBHOOK_VERIFIER_TOKEN")
    webhook_max_body_bytes: int = Field(1_000_000, ge=1024, alias="WEBHOOK_MAX_BODY_BYTES")
    webhook_rate_per_minute: int = Field(600, ge=1, alias="WEBHOOK_RATE_PER_MINUTE")

    # Put in front of every pub/sub channel name (incoming and outgoing events). Empty in production:
    # Core's channels are the bare event names. Tests and benches set a unique one per run.
    event_channel_prefix: str = Field("", alias="EVENT_CHANNEL_PREFIX")

    # Reconciliation: TimeActivities dated in the last N days are re-read in full each run, plus every one
    # changed since the previous run; reads are metered by Intuit, so a run stops at its budget.
    reconciliation_window_days: int = Field(14, ge=1, le=366, alias="RECONCILIATION_WINDOW_DAYS")
    reconciliation_max_reads: int = Field(200, ge=1, alias="RECONCILIATION_MAX_READS")

    public_base_url: str = Field("http://127.0.0.1:8000", alias="PUBLIC_BASE_URL")
    # Larger request bodies answer 413 before any route reads them. The largest valid body is a mapping
    # at its list limits (4 x 20,000 entries, 10,000 rates: 9.3 MB compact, 12.4 MB indented), so 16 MiB.
    max_request_body_bytes: int = Field(16 * 1024 * 1024, ge=1024, alias="MAX_REQUEST_BODY_BYTES")
    sync_sweep_minutes: int = Field(15, alias="SYNC_SWEEP_MINUTES")

    # Fallback CSV storage: S3 when a bucket is set, else a local folder.
    s3_bucket: str | None = Field(None, alias="S3_BUCKET")
    s3_endpoint_url: str | None = Field(None, alias="S3_ENDPOINT_URL")
    s3_region: str = Field("us-east-1", alias="S3_REGION")
    export_dir: str = Field("./var/exports", alias="EXPORT_DIR")

    smtp_host: str | None = Field(None, alias="SMTP_HOST")
    smtp_port: int = Field(587, alias="SMTP_PORT")
    smtp_username: str | None = Field(None, alias="SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(None, alias="SMTP_PASSWORD")
    smtp_starttls: bool = Field(True, alias="SMTP_STARTTLS")
    alert_from: str = Field("qbo-integration@crewflow.local", alias="ALERT_FROM")
    smtp_timeout_seconds: float = Field(15.0, alias="SMTP_TIMEOUT_SECONDS")
    # One alert per condition (company, kind, dedupe key) per cool-down.
    alert_cooldown_minutes: int = Field(60, ge=0, alias="ALERT_COOLDOWN_MINUTES")
    # Where alerts go when the company has no admin_email (else they are only logged).
    alert_fallback_email: str | None = Field(None, alias="ALERT_FALLBACK_EMAIL")
    # 48-hour setup guarantee: alert when setup is still incomplete after these many hours.
    setup_deadline_hours: float = Field(48.0, gt=0, alias="SETUP_DEADLINE_HOURS")
    setup_alert_hours_csv: str = Field("24,40", alias="SETUP_ALERT_HOURS")  # comma-separated hours
    # GET …/health keeps a company's answer this long per API process (0: off); see health/service.py.
    health_cache_seconds: float = Field(1.0, ge=0, le=10, alias="HEALTH_CACHE_SECONDS")
    audit_retention_days: int = Field(90, ge=1, alias="AUDIT_RETENTION_DAYS")
    export_retention_days: int = Field(30, ge=1, alias="EXPORT_RETENTION_DAYS")
    # Each timecard's sync story (sync/story/): at least 400 days, so a question about last year's time has an answer.
    sync_story_retention_days: int = Field(400, ge=400, alias="SYNC_STORY_RETENTION_DAYS")
    # When set, the worker serves its Prometheus metrics on this port (the API serves /metrics itself).
    worker_metrics_port: int | None = Field(None, ge=1, le=65535, alias="WORKER_METRICS_PORT")
    # Jobs per worker process at once. Sync jobs mostly wait on QBO (400 ms a call, 500 calls a minute
    # per company), so one process can carry many companies; with 20, a fleet of 50 companies queued
    # for job slots (bench/fleet.py: slowest company 410 s vs fastest 123 s with one worker).
    worker_max_jobs: int = Field(50, ge=1, le=1000, alias="WORKER_MAX_JOBS")
    # PostgreSQL connections per worker process, whatever WORKER_MAX_JOBS is: jobs wait for one (a job
    # holds a session only between QBO calls). It was 20 + 10 overflow, so four workers could ask for
    # 120 of PostgreSQL's default max_connections of 100 (bench/fleet.py with 1,000 companies: "too many
    # clients"). Four workers at 15 use 60, leaving room for the API processes.
    worker_db_connections: int = Field(15, ge=1, le=200, alias="WORKER_DB_CONNECTIONS")

    # GET /metrics names every company (breaker series): with METRICS_TOKEN set, only a scrape sending
    # `Authorization: Bearer <METRICS_TOKEN>` reads it; without one it is open in dev/test and refused
    # in production.
    metrics_token: SecretStr | None = Field(None, alias="METRICS_TOKEN")
    # /docs, /redoc and /openapi.json: served in dev/test; in production only with API_DOCS_ENABLED=true.
    api_docs_enabled: bool | None = Field(None, alias="API_DOCS_ENABLED")

    sentry_dsn: str | None = Field(None, alias="SENTRY_DSN")
    log_level: str = Field("INFO", alias="LOG_LEVEL")

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, v: str) -> str:
        if v.startswith("postgresql://") or v.startswith("postgres://"):
            v = "postgresql+asyncpg://" + v.split("://", 1)[1]
        return v

    @field_validator("setup_alert_hours_csv")
    @classmethod
    def _hours_list(cls, v: str) -> str:
        try:
            hours = [float(x) for x in v.split(",") if x.strip()]
        except ValueError as exc:
            raise ValueError("SETUP_ALERT_HOURS must be comma-separated numbers of hours, e.g. 24,40") from exc
        if any(h <= 0 for h in hours):
            raise ValueError("SETUP_ALERT_HOURS must be positive hours")
        return v

    @property
    def setup_alert_hours(self) -> list[float]:
        return sorted(float(x) for x in self.setup_alert_hours_csv.split(",") if x.strip())

    def webhook_verifier(self) -> str | None:
        """The verifier token, or None when unset or (outside dev/test) still a placeholder: then no
        delivery can be authenticated and every one is refused."""
        token = self.qbo_webhook_verifier_token.get_secret_value() if self.qbo_webhook_verifier_token else ""
        if not token or (not self.is_dev and (token.startswith("dev-") or
                                               any(m in token.lower() for m in PLACEHOLDER_MARKERS))):
            return None
        return token

    @property
    def is_dev(self) -> bool:
        return self.env in ("dev", "test")

    @property
    def docs_enabled(self) -> bool:
        return self.api_docs_enabled if self.api_docs_enabled is not None else self.is_dev

    def check_secrets(self) -> None:
        """Raise ConfigError naming the first placeholder secret, unless in dev/test mode."""
        if self.is_dev:
            return
        secrets = {
            "TOKEN_ENCRYPTION_KEYS": self.token_encryption_keys.get_secret_value(),
            "QBO_CLIENT_SECRET": self.qbo_client_secret.get_secret_value(),
            "QBO_CLIENT_ID": self.qbo_client_id,
        }
        if not self.jwt_jwks_url:
            secrets["JWT_SECRET"] = self.jwt_secret.get_secret_value()
        for name, value in secrets.items():
            if not value or any(m in value.lower() for m in PLACEHOLDER_MARKERS) or value.startswith("dev-"):
                raise ConfigError(
                    f"{name} holds a placeholder or is empty; set a real value (or QBOI_ENV=dev for local use)"
                )
        if self.token_encryption_keys.get_secret_value() == DEV_ENCRYPTION_KEY:
            raise ConfigError("TOKEN_ENCRYPTION_KEYS is the dev key; generate one with `qbo-integration keygen`")


@lru_cache
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]
