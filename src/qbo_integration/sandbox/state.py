"""Everything one sandbox process holds: realms with their limits, faults and request log."""

from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import dataclass, field

from .config import SandboxConfig
from .faults import RealmFaults
from .limits import RealmLimits
from .oauth_store import OAuthStore
from .responses import Clock
from .sample_data import populate, realm_id_for
from .store import Realm
from .webhooks import Subscription, WebhookHub


def signing_jwk() -> dict:
    """The public half of a fresh RS256 key, as a JWK (what Intuit publishes at its jwks_uri)."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    digest = hashlib.sha256(jwk["n"].encode()).hexdigest()[:16]
    return {**jwk, "kid": digest, "use": "sig", "alg": "RS256"}


@dataclass
class RealmSlot:
    realm: Realm
    limits: RealmLimits
    faults: RealmFaults
    log: deque = field(default_factory=deque)


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = Clock(config.clock, config.company_utc_offset)
        self.slots: dict[str, RealmSlot] = {}
        self.oauth = OAuthStore(config)
        self.auto_approve = config.auto_approve
        self.auto_approve_realm = config.auto_approve_realm
        self.webhooks = WebhookHub(batch_seconds=config.webhook_batch_seconds, retry_scale=config.webhook_retry_scale,
                                   seed=config.seed)
        self.signing_jwk = signing_jwk()
        for i in range(config.sample_realms):
            self.add_realm(realm_id_for(i), None, sample=True)

    def add_realm(self, realm_id: str | None, company_name: str | None, sample: bool = True) -> RealmSlot:
        if realm_id is None:
            i = 0
            while realm_id_for(i) in self.slots:
                i += 1
            realm_id = realm_id_for(i)
        if realm_id in self.slots:
            raise ValueError(f"realm {realm_id} exists")
        cfg = self.config
        slot = RealmSlot(
            realm=self._new_realm(realm_id, company_name, sample),
            limits=RealmLimits(cfg.calls_per_minute, cfg.concurrent_requests, cfg.batch_requests_per_minute,
                               enabled=cfg.limits_enabled, calls_per_second=cfg.calls_per_second),
            faults=RealmFaults(),
            log=deque(maxlen=cfg.log_max_entries),
        )
        self.slots[realm_id] = slot
        if cfg.webhook_url:
            self.webhooks.subscribe(realm_id, Subscription(cfg.webhook_url, cfg.webhook_verifier))
        return slot

    def _new_realm(self, realm_id: str, company_name: str | None, sample: bool) -> Realm:
        index = len(self.slots) + 1
        name = company_name or ("Sandbox Company US " + realm_id[-4:] if not sample
                                else f"Craig's Construction {index}" if index > 1 else "Craig's Construction")
        realm = Realm(realm_id=realm_id, company_name=name, clock=self.clock, created=self.clock.now(),
                      billable_needs_hourly_rate=self.config.billable_needs_hourly_rate)
        realm.request_ids.seconds = self.config.request_id_memory_seconds
        if sample:
            populate(realm, self.config.seed)
        self._listen(realm)
        return realm

    def _listen(self, realm: Realm) -> None:
        realm.on_change = lambda entity, id_, op, at: self.webhooks.notify(realm.realm_id, entity, id_, op, at)

    def reset(self, realm_id: str) -> None:
        slot = self.slots[realm_id]
        old = slot.realm
        slot.realm = Realm(realm_id=realm_id, company_name=old.company_name, clock=self.clock,
                           created=self.clock.now(), billable_needs_hourly_rate=old.billable_needs_hourly_rate)
        slot.realm.request_ids.seconds = old.request_ids.seconds  # a setting, like limits: kept
        if old.sample:
            populate(slot.realm, self.config.seed)
        self._listen(slot.realm)
        slot.log.clear()
        slot.faults = RealmFaults()

    def default_realm(self) -> str | None:
        if self.auto_approve_realm in self.slots:
            return self.auto_approve_realm
        return next(iter(self.slots), None)
