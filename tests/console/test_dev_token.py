"""GET /dev/token exists only in dev mode, and hands out a working admin token for the demo company."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager

from qbo_integration.app import create_app
from qbo_integration.core_platform.demo_seed import DEMO_COMPANY_ID


async def _get(settings, path: str, headers: dict[str, str] | None = None) -> list[httpx.Response]:
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        first = await c.get(path)
        out = [first]
        if first.status_code == 200 and headers is None:
            token = first.json()["token"]
            out.append(await c.get("/api/v1/integrations/quickbooks/connection",
                                   params={"companyId": first.json()["companyId"]},
                                   headers={"Authorization": f"Bearer {token}"}))
        out.append(await c.get("/console/"))
        return out


async def test_dev_token_in_dev_mode_is_an_admin_token_for_the_demo_company(settings, sessionmaker, redis):
    from qbo_integration.api.auth import authenticate
    from qbo_integration.core_platform.demo_seed import seed_demo_company

    async with sessionmaker() as s:
        await seed_demo_company(s)
        await s.commit()
    dev = settings.model_copy(update={"env": "dev"})
    token_resp, conn_resp, console = await _get(dev, "/dev/token")
    assert token_resp.status_code == 200
    assert token_resp.headers["cache-control"] == "no-store"
    body = token_resp.json()
    assert body["companyId"] == str(DEMO_COMPANY_ID)
    principal = await authenticate(dev, f"Bearer {body['token']}")
    assert principal.company_id == DEMO_COMPANY_ID and principal.is_admin
    assert conn_resp.status_code == 200, conn_resp.text
    assert conn_resp.json()["status"] == "never_connected"
    assert console.status_code == 200 and "<title>" in console.text  # the static console is still mounted


async def test_no_dev_token_outside_dev_mode(settings, sessionmaker, redis):
    assert settings.env == "test"
    token_resp, console = await _get(settings, "/dev/token")
    assert token_resp.status_code == 404
    assert "token" not in token_resp.text.lower()
    assert console.status_code == 200
