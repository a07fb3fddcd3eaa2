"""OAuth grants, codes and tokens (opaque random strings), like Intuit's."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field

from .config import SandboxConfig

HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"  # opts in to the hard-expiry field


class OAuthError(Exception):
    def __init__(self, error: str, status: int = 400, description: str | None = None) -> None:
        super().__init__(error)
        self.error, self.status, self.description = error, status, description

    def body(self) -> dict:
        out = {"error": self.error}
        if self.description:
            out["error_description"] = self.description
        return out


@dataclass
class Grant:
    grant_id: str
    realm_id: str
    client_id: str
    created: float
    hard_expires: float  # no refresh token of the grant outlives this (Intuit's 5-year maximum)
    revoked: bool = False
    access: set = field(default_factory=set)
    refresh: set = field(default_factory=set)
    newest_refresh: str | None = None


@dataclass
class Code:
    client_id: str
    redirect_uri: str
    realm_id: str
    expires: float
    challenge: str | None
    method: str | None


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class OAuthStore:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.now = config.clock
        self.grants: dict[str, Grant] = {}
        self.codes: dict[str, Code] = {}
        self.access: dict[str, tuple[str, float]] = {}  # token -> (grant_id, expires)
        # token -> (grant_id, expires, usable_until): usable_until is inf while the token is the grant's
        # newest, then now + the grace period once it has been used to refresh.
        self.refresh: dict[str, tuple[str, float, float]] = {}
        self.refresh_grace_seconds = config.refresh_grace_seconds
        self.refresh_hard_max_seconds = config.refresh_hard_max_seconds  # for grants issued from now on

    def check_client(self, client_id: str | None, secret: str | None) -> None:
        ok = (client_id is not None and secret is not None
              and secrets.compare_digest(client_id, self.config.client_id)
              and secrets.compare_digest(secret, self.config.client_secret))
        if not ok:
            raise OAuthError("invalid_client", 401)

    def new_code(self, client_id: str, redirect_uri: str, realm_id: str, challenge: str | None,
                 method: str | None) -> str:
        code = "AB11" + secrets.token_urlsafe(32)
        self.codes[code] = Code(client_id, redirect_uri, realm_id, self.now() + self.config.auth_code_seconds,
                                challenge, method)
        return code

    def exchange_code(self, code: str, redirect_uri: str | None, verifier: str | None, *,
                      include_hard: bool = False) -> dict:
        entry = self.codes.pop(code, None)  # single use
        if entry is None or entry.expires < self.now():
            raise OAuthError("invalid_grant")
        if redirect_uri != entry.redirect_uri:
            raise OAuthError("invalid_grant", description="redirect_uri mismatch")
        if entry.challenge:
            if not verifier:
                raise OAuthError("invalid_grant", description="code_verifier required")
            got = s256(verifier) if entry.method == "S256" else verifier
            if not secrets.compare_digest(got, entry.challenge):
                raise OAuthError("invalid_grant", description="code_verifier mismatch")
        return self.issue(entry.realm_id, entry.client_id, include_hard=include_hard)

    def issue(self, realm_id: str, client_id: str | None = None, *, include_hard: bool = True,
              hard_expires_in: int | None = None) -> dict:
        """A new grant (a consent). `hard_expires_in`: its hard maximum, instead of the configured one."""
        now = self.now()
        hard = hard_expires_in if hard_expires_in is not None else self.refresh_hard_max_seconds
        grant = Grant(secrets.token_hex(8), realm_id, client_id or self.config.client_id, now, now + hard)
        self.grants[grant.grant_id] = grant
        return self._tokens(grant, include_hard, now)

    def _tokens(self, grant: Grant, include_hard: bool, now: float | None = None) -> dict:
        now = self.now() if now is None else now
        access = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.." + secrets.token_urlsafe(48)
        refresh = "RT1-" + secrets.token_urlsafe(36)
        refresh_expires = min(now + self.config.refresh_token_seconds, grant.hard_expires)
        self.access[access] = (grant.grant_id, now + self.config.access_token_seconds)
        self.refresh[refresh] = (grant.grant_id, refresh_expires, float("inf"))
        grant.access.add(access)
        grant.refresh.add(refresh)
        grant.newest_refresh = refresh
        answer = {"token_type": "bearer", "access_token": access, "expires_in": self.config.access_token_seconds,
                  "refresh_token": refresh, "x_refresh_token_expires_in": int(refresh_expires - now)}
        if include_hard:
            answer["x_refresh_token_hard_expires_in"] = int(grant.hard_expires - now)
        return answer

    def refresh_grant(self, token: str, *, include_hard: bool = False) -> dict:
        entry = self.refresh.get(token)
        if entry is None:
            raise OAuthError("invalid_grant")
        grant_id, expires, usable_until = entry
        grant, now = self.grants[grant_id], self.now()
        if grant.revoked or expires < now or usable_until <= now:
            raise OAuthError("invalid_grant")
        if usable_until == float("inf"):  # rotate: the old one is superseded, usable for the grace period
            self.refresh[token] = (grant_id, expires, now + self.refresh_grace_seconds)
        else:  # an old token inside its grace period: the grant's chain continues, it does not fork
            self._supersede(grant, now)
        return self._tokens(grant, include_hard)

    def _supersede(self, grant: Grant, now: float) -> None:
        newest = grant.newest_refresh
        entry = self.refresh.get(newest) if newest else None
        if entry is not None and entry[2] == float("inf"):
            self.refresh[newest] = (entry[0], entry[1], now + self.refresh_grace_seconds)  # type: ignore[index]

    def revoke_token(self, token: str) -> None:
        entry = self.access.get(token) or self.refresh.get(token)
        if entry:
            self.grants[entry[0]].revoked = True

    def revoke_realm(self, realm_id: str) -> int:
        n = 0
        for grant in self.grants.values():
            if grant.realm_id == realm_id and not grant.revoked:
                grant.revoked, n = True, n + 1
        return n

    def expire_realm(self, realm_id: str) -> int:
        n, past = 0, self.now() - 1
        for grant in self.grants.values():
            if grant.realm_id == realm_id:
                for tok in grant.access:
                    self.access[tok] = (grant.grant_id, past)
                    n += 1
        return n

    def subject(self, access_token: str | None) -> str:
        """A stable per-grant user id (uuid-shaped, like Intuit's `sub`)."""
        grant_id = self.access[access_token][0] if access_token in self.access else ""
        digest = hashlib.sha256(f"{self.config.client_id}:{grant_id}".encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"

    def authenticate(self, token: str | None) -> tuple[str | None, str]:
        """(realm_id, '') if the bearer token is good, else (None, reason)."""
        if not token:
            return None, "Authorization header missing or not a Bearer token"
        entry = self.access.get(token)
        if entry is None:
            return None, "Token invalid: the access token is not recognised"
        grant = self.grants[entry[0]]
        if grant.revoked:
            return None, "Token revoked: the app was disconnected from this company"
        if entry[1] <= self.now():
            return None, "Token expired: the access token is older than 3600 seconds"
        return grant.realm_id, ""
