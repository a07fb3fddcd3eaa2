"""Verified bearer tokens are remembered until they expire, and only for the settings they were verified
against (api/auth.py VerifiedTokens)."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from pydantic import SecretStr

from qbo_integration.api import auth
from qbo_integration.errors import Unauthenticated


def _token(settings, *, exp: float, secret: str | None = None) -> str:
    claims = {"sub": "user-1", "company_id": str(uuid.uuid4()), "role": "admin", "iss": settings.jwt_issuer,
              "aud": settings.jwt_audience, "iat": int(time.time()), "exp": int(exp)}
    return jwt.encode(claims, secret or settings.jwt_secret.get_secret_value(), algorithm="HS256")


async def test_a_remembered_token_still_expires(settings, monkeypatch):
    now = time.time()
    token = _token(settings, exp=now + 60)
    first = await auth.authenticate(settings, f"Bearer {token}")
    assert await auth.authenticate(settings, f"Bearer {token}") == first  # from memory
    monkeypatch.setattr(auth.time, "time", lambda: now + 61)
    monkeypatch.setattr(jwt.api_jwt, "datetime", _frozen_datetime(now + 61))
    with pytest.raises(Unauthenticated, match="expired"):
        await auth.authenticate(settings, f"Bearer {token}")


async def test_a_token_remembered_under_one_secret_is_not_accepted_under_another(settings):
    token = _token(settings, exp=time.time() + 60)
    await auth.authenticate(settings, f"Bearer {token}")
    other = settings.model_copy(update={"jwt_secret": SecretStr("another-secret-" + "x" * 40)})
    with pytest.raises(Unauthenticated, match="invalid"):
        await auth.authenticate(other, f"Bearer {token}")


async def test_a_forged_token_is_never_remembered(settings):
    forged = _token(settings, exp=time.time() + 60, secret="not-the-secret-" + "y" * 40)
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="invalid"):
            await auth.authenticate(settings, f"Bearer {forged}")


def _frozen_datetime(at: float):
    from datetime import UTC, datetime

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return datetime.fromtimestamp(at, tz or UTC)

    return Frozen
