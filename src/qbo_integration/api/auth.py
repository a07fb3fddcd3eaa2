"""Bearer JWTs from Core Platform: HS256 shared secret or RS256 via a JWKS URL.

Claims used: `sub`, `company_id`, `role`; `iss` and `aud` are checked, `exp` required.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache

import jwt

from qbo_integration.api.inputs import unstorable_text_problem
from qbo_integration.config import Settings
from qbo_integration.errors import Forbidden, Unauthenticated

ROLES = ("admin", "supervisor", "field_worker")
SUB_MAX = 200  # the audit log's actor column
LATEST_EXP = 253402300800  # 10000-01-01T00:00:00Z: an exp at or past it is no time a token can expire at


@dataclass(frozen=True)
class Principal:
    sub: str
    company_id: uuid.UUID
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=600)


async def _verification_key(settings: Settings, token: str) -> tuple[object, list[str]]:
    if settings.jwt_jwks_url:
        client = _jwks_client(settings.jwt_jwks_url)
        try:
            signing_key = await asyncio.to_thread(client.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientError as exc:
            raise Unauthenticated("Bearer token signed with an unknown key") from exc
        except jwt.InvalidTokenError as exc:  # not a JWT at all: its header cannot be read
            raise Unauthenticated("Bearer token is not a well-formed JWT") from exc
        return signing_key.key, ["RS256"]
    return settings.jwt_secret.get_secret_value(), ["HS256"]


class VerifiedTokens:
    """Bearer tokens this process has verified, with their principal, until they expire.

    A console page polls with one token for its whole life: verifying it again on every request was
    a fifth of the company-health endpoint's CPU under 100 connections (py-spy, bench/api_load.py).
    The key includes what the token was verified against (JWKS URL or a hash of the secret, audience,
    issuer), so an app with other settings in the same process verifies for itself."""

    MAX = 10_000

    def __init__(self) -> None:
        self._seen: dict[tuple[str, ...], tuple[float, Principal]] = {}

    @staticmethod
    def key(settings: Settings, token: str) -> tuple[str, ...]:
        against = settings.jwt_jwks_url or hashlib.sha256(settings.jwt_secret.get_secret_value().encode()).hexdigest()
        return (token, against, str(settings.jwt_audience), str(settings.jwt_issuer))

    def get(self, key: tuple[str, ...], now: float) -> Principal | None:
        kept = self._seen.get(key)
        if kept is None:
            return None
        if now >= kept[0]:
            del self._seen[key]
            return None
        return kept[1]

    def put(self, key: tuple[str, ...], principal: Principal, expires: float) -> None:
        if len(self._seen) >= self.MAX:
            self._seen.clear()
        self._seen[key] = (expires, principal)


VERIFIED = VerifiedTokens()


async def authenticate(settings: Settings, authorization: str | None) -> Principal:
    if not authorization:
        raise Unauthenticated("Missing bearer token (Authorization: Bearer <token>)")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization header must be 'Bearer <token>'")
    cache_key = VERIFIED.key(settings, token.strip())
    known = VERIFIED.get(cache_key, time.time())
    if known is not None:
        return known
    principal, expires = await _verify(settings, token.strip())
    VERIFIED.put(cache_key, principal, expires)
    return principal


async def _verify(settings: Settings, token: str) -> tuple[Principal, float]:
    """The token's principal and when it expires, or Unauthenticated saying what is wrong with it."""
    key, algorithms = await _verification_key(settings, token)
    try:
        claims = jwt.decode(
            token,
            key,  # type: ignore[arg-type]
            algorithms=algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("Bearer token has expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthenticated("Bearer token is for another audience") from exc
    except jwt.InvalidIssuerError as exc:
        raise Unauthenticated("Bearer token has the wrong issuer") from exc
    except (jwt.PyJWTError, OverflowError) as exc:  # OverflowError: a time claim PyJWT's int() cannot hold
        raise Unauthenticated("Bearer token is invalid") from exc
    exp = claims["exp"]
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not exp < LATEST_EXP:
        raise Unauthenticated("Bearer token has an exp claim past any date (it must be before the year 10000)")
    try:
        company_id = uuid.UUID(str(claims.get("company_id")))
    except ValueError as exc:
        raise Unauthenticated("Bearer token has no valid company_id claim") from exc
    role = claims.get("role")
    if role not in ROLES:
        raise Unauthenticated("Bearer token has no valid role claim")
    sub = str(claims["sub"])
    if not sub or len(sub) > SUB_MAX or unstorable_text_problem(sub):
        raise Unauthenticated(f"Bearer token has no valid sub claim (1-{SUB_MAX} characters of text)")
    return Principal(sub=sub, company_id=company_id, role=role), float(exp)


def check_company_access(principal: Principal, company_id: uuid.UUID, *, admin: bool) -> None:
    if principal.company_id != company_id:
        raise Forbidden("This token belongs to another company")
    if admin and not principal.is_admin:
        raise Forbidden("Managing the QuickBooks integration needs the admin role")


def mint_token(settings: Settings, *, company_id: uuid.UUID, role: str, sub: str = "dev-admin",
               ttl_seconds: int = 7 * 24 * 3600) -> str:
    """Dev/test only: a token like Core Platform's, signed with the HS256 secret."""
    if not settings.is_dev:
        raise RuntimeError("Tokens can only be minted in dev mode (QBOI_ENV=dev)")
    now = int(time.time())
    claims = {"sub": sub, "company_id": str(company_id), "role": role, "iss": settings.jwt_issuer,
              "aud": settings.jwt_audience, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
