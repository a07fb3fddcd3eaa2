"""Bearer JWTs from Core Platform: HS256 shared secret or RS256 via a JWKS URL.

Claims used: `sub`, `company_id`, `role`; `iss` and `aud` are checked, `exp` required.
"""

from __future__ import annotations

import asyncio
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


async def authenticate(settings: Settings, authorization: str | None) -> Principal:
    if not authorization:
        raise Unauthenticated("Missing bearer token (Authorization: Bearer <token>)")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization header must be 'Bearer <token>'")
    key, algorithms = await _verification_key(settings, token.strip())
    try:
        claims = jwt.decode(
            token.strip(),
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
    except jwt.PyJWTError as exc:
        raise Unauthenticated("Bearer token is invalid") from exc
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
    return Principal(sub=sub, company_id=company_id, role=role)


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
