"""Settings of the QBO client. Plain dataclasses: the service's settings build one of these."""

from __future__ import annotations

from dataclasses import dataclass, field

from .retry import RetryPolicy

INTUIT_PRODUCTION_API = "https://quickbooks.api.intuit.com"
INTUIT_SANDBOX_API = "https://sandbox-quickbooks.api.intuit.com"
INTUIT_AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
INTUIT_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
INTUIT_REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
INTUIT_DISCOVERY_URL = "https://developer.api.intuit.com/.well-known/openid_configuration"
INTUIT_SANDBOX_DISCOVERY_URL = "https://developer.api.intuit.com/.well-known/openid_sandbox_configuration"
SCOPE_ACCOUNTING = "com.intuit.quickbooks.accounting"


@dataclass(frozen=True)
class LimitsConfig:
    """QBO's per-realm limits, held in Redis for every process.

    `window_seconds` is configurable so tests can scale the 60-second window down
    (e.g. 50 calls / 5 s); production keeps QBO's 500 / 60 s, 40 batches / 60 s, 10 in flight.
    `margin_seconds` widens the window we count in, so a request admitted here and logged a
    little later by QBO never lands in QBO's window as call number 501. 0.5 s was too little: with
    batches that fill the window exactly, a worker's event loop busy for half a second between
    admitting a batch and sending it got a 429 in the 50-company fleet bench (docs/benchmarks.md).
    """

    enabled: bool = True
    calls_per_window: int = 500
    batches_per_window: int = 40
    window_seconds: float = 60.0
    margin_seconds: float = 2.0
    max_in_flight: int = 10
    requests_per_second: int = 10  # QBO: at most 10 requests a second per realm and app; 0 turns it off
    lease_seconds: float = 130.0  # a crashed process's slot frees itself after this
    max_wait_seconds: float = 75.0  # longer than this waiting for budget -> RATE_LIMITED
    max_pause_wait_seconds: float = 10.0  # after a 429 every process pauses; longer pauses are raised
    local_pacing: bool = True  # aiolimiter pacing within one process


@dataclass(frozen=True)
class RetryConfig(RetryPolicy):
    """The request loop's policy: 3 tries with backoff, plus how it rides out 429s and re-sends writes."""

    max_throttled_waits: int = 5  # 429s waited out inside one call (they spend no try); then raised
    # A write whose earlier attempt may have landed (timeout, lost answer, 5xx) is sent again under
    # its requestid only this soon after that attempt went out. How long QBO remembers a requestid is
    # not documented (qbo-wire.md): a re-send after it forgot creates a second record. Past this the
    # outcome is left unknown (the attempt's error is raised) and the sync settles it by a look-up.
    resend_window: float = 10.0


@dataclass(frozen=True)
class BreakerConfig:
    enabled: bool = True
    fail_max: int = 5
    open_seconds: float = 30 * 60
    trial_lease_seconds: float = 130.0  # a half-open trial that never reports back frees after this


@dataclass(frozen=True)
class QboConfig:
    """Where QBO lives and how the client behaves.

    `api_base_url` is the host root (`https://quickbooks.api.intuit.com`, the Intuit sandbox, or our
    own sandbox's `base_url`); a trailing `/v3/company...` is tolerated and removed.
    """

    api_base_url: str = INTUIT_PRODUCTION_API
    minor_version: int = 75
    timeout: float = 120.0
    client_id: str = ""
    client_secret: str = ""
    authorize_url: str = INTUIT_AUTHORIZE_URL
    token_url: str = INTUIT_TOKEN_URL
    revoke_url: str = INTUIT_REVOKE_URL
    discovery_url: str | None = INTUIT_DISCOVERY_URL
    redirect_uri: str | None = None
    scope: str = SCOPE_ACCOUNTING
    refresh_margin_seconds: float = 300.0  # refresh access tokens 5 minutes before expiry
    refresh_lock_seconds: float = 30.0
    oauth_timeout: float = 20.0
    page_size: int = 1000
    batch_size: int = 30
    redis_prefix: str = "qbo"
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    retry: RetryConfig = field(default_factory=RetryConfig)
    breaker: BreakerConfig = field(default_factory=BreakerConfig)

    @property
    def api_root(self) -> str:
        base = self.api_base_url.rstrip("/")
        cut = base.find("/v3/company")
        if cut >= 0:
            base = base[:cut]
        return base

    def company_url(self, realm_id: str, path: str) -> str:
        return f"{self.api_root}/v3/company/{realm_id}/{path.lstrip('/')}"

    @classmethod
    def intuit(cls, client_id: str, client_secret: str, *, sandbox: bool = False, **kw) -> QboConfig:
        return cls(
            api_base_url=INTUIT_SANDBOX_API if sandbox else INTUIT_PRODUCTION_API,
            discovery_url=INTUIT_SANDBOX_DISCOVERY_URL if sandbox else INTUIT_DISCOVERY_URL,
            client_id=client_id,
            client_secret=client_secret,
            **kw,
        )

    @classmethod
    def local_sandbox(
        cls,
        base_url: str,
        client_id: str = "dev-client-id",
        client_secret: str = "dev-only-client-secret",
        **kw,
    ) -> QboConfig:
        """Our own sandbox (`qbo-integration sandbox`): every endpoint on one host."""
        base = base_url.rstrip("/")
        return cls(
            api_base_url=base,
            client_id=client_id,
            client_secret=client_secret,
            authorize_url=f"{base}/connect/oauth2",
            token_url=f"{base}/oauth2/v1/tokens/bearer",
            revoke_url=f"{base}/v2/oauth2/tokens/revoke",
            discovery_url=f"{base}/.well-known/openid_configuration",
            **kw,
        )
