"""Signed bearer tokens with claims no issuer would write: 401 through a real route, never a 500."""

from __future__ import annotations

import time

import jwt
import pytest

URL = "/api/v1/integrations/quickbooks/connection"


def _signed(settings, company_id, **claims: object) -> str:
    base = {"sub": "user-1", "company_id": str(company_id), "role": "admin", "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience, "iat": int(time.time()), "exp": int(time.time()) + 600}
    return jwt.encode({**base, **claims}, settings.jwt_secret.get_secret_value(), algorithm="HS256")


@pytest.mark.parametrize("exp", [10 ** 3999, 2 ** 1024, 253402300800, 1e308])
async def test_an_exp_past_any_calendar_is_a_401(client, settings, company, exp):
    """float() of a 4,000-digit exp overflowed after PyJWT had accepted it."""
    token = _signed(settings, company.id, exp=exp)
    resp = await client.get(URL, params={"companyId": str(company.id)}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401, resp.text
    assert "exp" in resp.json()["error"]["message"]


@pytest.mark.parametrize("claim", [{"exp": float("inf")}, {"iat": float("inf")}, {"nbf": float("-inf")},
                                   {"exp": float("nan")}, {"exp": "soon"}, {"iat": 10 ** 3999}])
async def test_a_time_claim_that_is_no_number_is_a_401(client, settings, company, claim):
    """Infinity (json allows it) made PyJWT's own int() overflow."""
    token = _signed(settings, company.id, **claim)
    resp = await client.get(URL, params={"companyId": str(company.id)}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401, resp.text


async def test_an_ordinary_exp_still_works(client, settings, company):
    token = _signed(settings, company.id)
    resp = await client.get(URL, params={"companyId": str(company.id)}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text
