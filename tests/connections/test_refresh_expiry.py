"""The refresh token's hard expiry (issue 15): recorded from Intuit's answer, kept on refresh, shown in
health, alerted 30 and 7 days before (once each), and the reconnect route Intuit's Reconnect URL points at."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from sqlalchemy import func, select

from qbo_integration.connections import expiry
from qbo_integration.connections import tasks as connections_tasks
from qbo_integration.connections.crypto import aad_for
from qbo_integration.connections.models import Integration, OAuthState
from qbo_integration.connections.token_store import DbTokenStore
from qbo_integration.monitoring.models import AlertOutbox
from qbo_integration.qbo import TokenSet
from qbo_integration.queue import QUEUE_NAME, JobQueue
from tests.connections import flow
from tests.connections.flow import API

DAY = 86400
FIVE_YEARS = 5 * 365 * DAY


@asynccontextmanager
async def hard_max(sandbox, seconds: int) -> AsyncIterator[None]:
    """New sandbox grants end `seconds` after consent (the shared sandbox is put back afterwards)."""
    r = await sandbox.put("/_sandbox/settings", json={"refreshHardMaxSeconds": seconds})
    assert r.status_code == 200, r.text
    try:
        yield
    finally:
        await sandbox.put("/_sandbox/settings", json={"refreshHardMaxSeconds": FIVE_YEARS})


async def _row(sessionmaker, company_id) -> Integration:
    async with sessionmaker() as s:
        return (await s.execute(select(Integration).where(Integration.company_id == company_id))).scalar_one()


async def _connect(client, sandbox, company, headers, sessionmaker, *, hard_seconds: int) -> Integration:
    realm = await flow.new_realm(sandbox)
    async with hard_max(sandbox, hard_seconds):
        resp, _ = await flow.connect(client, sandbox, company.id, headers, realm["realmId"])
    assert resp.status_code == 200, resp.text
    return await _row(sessionmaker, company.id)


def _near(at: datetime | None, expected: datetime, slack: float = 120) -> bool:
    return at is not None and abs((at - expected).total_seconds()) <= slack


async def test_connect_records_the_hard_expiry_and_a_refresh_keeps_it(client, sandbox, company, auth_headers,
                                                                       sessionmaker, services, settings):
    row = await _connect(client, sandbox, company, auth_headers, sessionmaker, hard_seconds=20 * DAY)
    now = datetime.now(UTC)
    assert _near(row.refresh_token_hard_expires_at, now + timedelta(days=20))
    assert _near(row.refresh_token_expires_at, now + timedelta(days=20))  # the rolling one never outlives it
    hard, old_refresh = row.refresh_token_hard_expires_at, services.cipher.decrypt(row.refresh_token_enc, aad_for(row.id))

    # a refresh (forced, as after a 401) rotates the tokens; the grant's hard expiry stays the same instant
    access = services.cipher.decrypt(row.access_token_enc, aad_for(row.id))
    assert await services.qbo.tokens.access_token(str(company.id), stale_token=access) != access
    after = await _row(sessionmaker, company.id)
    assert services.cipher.decrypt(after.refresh_token_enc, aad_for(after.id)) != old_refresh
    assert after.refresh_token_hard_expires_at == hard

    # an answer without the field keeps it; a clearly different one (Intuit's word) replaces it
    store = DbTokenStore(sessionmaker, services.cipher)
    current = await store.load(str(company.id))
    assert current is not None and current.refresh_hard_expires_at == hard
    plain = TokenSet(access_token="a1", refresh_token="r1", access_expires_at=now + timedelta(hours=1),
                     refresh_expires_at=now + timedelta(days=100))
    await store.save(str(company.id), plain, replacing=current.refresh_token)
    assert (await _row(sessionmaker, company.id)).refresh_token_hard_expires_at == hard
    moved = plain.model_copy(update={"refresh_token": "r2", "refresh_hard_expires_at": hard + timedelta(days=3)})
    await store.save(str(company.id), moved, replacing="r1")
    assert (await _row(sessionmaker, company.id)).refresh_token_hard_expires_at == hard + timedelta(days=3)


async def test_health_shows_the_expiry_and_is_degraded_within_30_days(client, sandbox, company, auth_headers,
                                                                      sessionmaker):
    await _connect(client, sandbox, company, auth_headers, sessionmaker, hard_seconds=12 * DAY)
    h = (await client.get(f"{API}/health", params={"companyId": str(company.id)}, headers=auth_headers)).json()
    conn = h["connection"]
    expires = datetime.fromisoformat(conn["refreshTokenExpiresAt"].replace("Z", "+00:00"))
    assert _near(expires, datetime.now(UTC) + timedelta(days=12))
    assert conn["refreshTokenHardExpiresAt"] == conn["refreshTokenExpiresAt"]
    assert conn["reconnectPath"] == f"{API}/reconnect"
    assert h["status"] == "degraded"
    (reason,) = [r for r in h["reasons"] if "expires" in r]
    assert expires.strftime("%Y-%m-%d") in reason and "reconnect" in reason.lower()
    conn_view = (await client.get(f"{API}/connection", params={"companyId": str(company.id)},
                                  headers=auth_headers)).json()  # the connect page's view says the same
    assert datetime.fromisoformat(conn_view["refreshTokenExpiresAt"].replace("Z", "+00:00")) == expires
    assert conn_view["refreshTokenHardExpiresAt"] == conn_view["refreshTokenExpiresAt"]


async def test_health_far_from_expiry_stays_healthy_and_shows_the_date(client, sandbox, company, auth_headers,
                                                                       sessionmaker):
    await _connect(client, sandbox, company, auth_headers, sessionmaker, hard_seconds=FIVE_YEARS)
    h = (await client.get(f"{API}/health", params={"companyId": str(company.id)}, headers=auth_headers)).json()
    assert h["connection"]["refreshTokenExpiresAt"] is not None
    assert not [r for r in h["reasons"] if "expires" in r]


async def _set_expiry(sessionmaker, company_id, *, rolling: datetime | None, hard: datetime | None) -> None:
    async with sessionmaker() as s:
        row = (await s.execute(select(Integration).where(Integration.company_id == company_id))).scalar_one()
        row.refresh_token_expires_at, row.refresh_token_hard_expires_at = rolling, hard
        await s.commit()


async def _alerts(sessionmaker) -> list[AlertOutbox]:
    async with sessionmaker() as s:
        return list((await s.execute(select(AlertOutbox).where(AlertOutbox.kind == "refresh_token_expiring")
                                     .order_by(AlertOutbox.created_at))).scalars())


async def _check(sessionmaker, settings, now: datetime) -> int:
    async with sessionmaker() as s:
        n = await expiry.alert_expiring(s, settings.public_base_url, now=now)
        await s.commit()
    return n


async def test_alerts_30_and_7_days_before_the_earlier_expiry_once_each(connected_company, sessionmaker, settings):
    t0 = datetime(2026, 12, 1, 6, 41, tzinfo=UTC)
    hard = t0 + timedelta(days=40)
    await _set_expiry(sessionmaker, connected_company.company_id, rolling=t0 + timedelta(days=90), hard=hard)
    assert await _check(sessionmaker, settings, t0) == 0  # 40 days left
    assert await _check(sessionmaker, settings, t0 + timedelta(days=10, minutes=1)) == 1  # inside 30 days
    for day in (11, 20, 32):
        assert await _check(sessionmaker, settings, t0 + timedelta(days=day)) == 0, day
    assert await _check(sessionmaker, settings, t0 + timedelta(days=33, minutes=1)) == 1  # inside 7 days
    for day in (34, 39):
        assert await _check(sessionmaker, settings, t0 + timedelta(days=day)) == 0, day
    first, second = await _alerts(sessionmaker)
    assert (first.dedupe_key, second.dedupe_key) == ("30d:2027-01-10", "7d:2027-01-10")
    assert first.recipients == ["admin@acme.test"]
    assert first.subject == "QuickBooks connection expires on 2027-01-10: reconnect"
    url = "http://127.0.0.1:8000/api/v1/integrations/quickbooks/reconnect"
    for row, days in ((first, 29), (second, 6)):
        assert url in row.body and "2027-01-10" in row.body and f"in {days} day(s)" in row.body
        assert "5 years" in row.body and "reconnect" in row.body

    # a reconnect (a new grant, a new date) starts over; the rolling expiry counts when it is the earlier
    await _set_expiry(sessionmaker, connected_company.company_id, rolling=t0 + timedelta(days=60),
                      hard=t0 + timedelta(days=1000))
    assert await _check(sessionmaker, settings, t0 + timedelta(days=54)) == 1
    assert await _check(sessionmaker, settings, t0 + timedelta(days=55)) == 0
    latest = (await _alerts(sessionmaker))[-1]
    assert latest.dedupe_key == "7d:2027-01-30" and "100 days" in latest.body


async def test_a_late_first_check_sends_only_the_nearest_alert(connected_company, sessionmaker, settings):
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    await _set_expiry(sessionmaker, connected_company.company_id, rolling=None, hard=t0 + timedelta(days=3))
    assert await _check(sessionmaker, settings, t0) == 1
    assert await _check(sessionmaker, settings, t0 + timedelta(days=1)) == 0
    assert [a.dedupe_key for a in await _alerts(sessionmaker)] == ["7d:2026-12-04"]


async def test_disconnected_or_unknown_expiry_alerts_nobody(connected_company, sessionmaker, settings):
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    await _set_expiry(sessionmaker, connected_company.company_id, rolling=None, hard=None)
    assert await _check(sessionmaker, settings, t0) == 0
    async with sessionmaker() as s:
        row = (await s.execute(select(Integration))).scalar_one()
        row.connection_status, row.refresh_token_hard_expires_at = "disconnected", t0 + timedelta(days=2)
        await s.commit()
    assert await _check(sessionmaker, settings, t0) == 0
    assert await _alerts(sessionmaker) == []


async def test_the_daily_cron_queues_the_alert_and_its_delivery(connected_company, sessionmaker, settings):
    assert connections_tasks.check_token_expiry in connections_tasks.FUNCTIONS
    (cron,) = connections_tasks.CRON_JOBS
    assert cron.coroutine is connections_tasks.check_token_expiry and cron.hour == 6 and cron.unique
    await _set_expiry(sessionmaker, connected_company.company_id, rolling=None,
                      hard=datetime.now(UTC) + timedelta(days=5))
    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    try:
        ctx = {"sessionmaker": sessionmaker, "queue": JobQueue(pool), "settings": settings}
        assert await connections_tasks.check_token_expiry(ctx) == 1
        assert await connections_tasks.check_token_expiry(ctx) == 0
        queued = [j.decode() for j in await pool.zrange(QUEUE_NAME, 0, -1)]
        assert queued, "the alert's delivery was not queued"
    finally:
        await pool.zremrangebyscore(QUEUE_NAME, "-inf", "+inf")
        await pool.aclose()
    assert len(await _alerts(sessionmaker)) == 1


# ---------------------------------------------------------------- the reconnect route


async def _states(sessionmaker) -> int:
    async with sessionmaker() as s:
        return (await s.execute(select(func.count()).select_from(OAuthState))).scalar_one()


async def test_reconnect_without_a_token(client, company, sessionmaker):
    api = await client.get(f"{API}/reconnect", headers={"Accept": "application/json"})
    assert api.status_code == 401 and api.json()["error"]["code"] == "unauthenticated"
    assert "bearer" in api.json()["error"]["message"].lower()
    as_json = await client.get(f"{API}/reconnect", params={"format": "json"}, headers={"Accept": "text/html"})
    assert as_json.status_code == 401
    # a browser sent by Intuit (or an alert's link) has no bearer: the console signs it in and comes back
    browser = await client.get(f"{API}/reconnect", headers={"Accept": "text/html,application/xhtml+xml"})
    assert browser.status_code == 302 and browser.headers["location"] == "/console/#/reconnect"
    assert browser.headers["cache-control"] == "no-store"
    assert await _states(sessionmaker) == 0


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Basic dXNlcjpwdw==", "Bearer "])
async def test_reconnect_with_a_bad_token_is_401(client, company, sessionmaker, header):
    for accept in ("application/json", "text/html"):
        resp = await client.get(f"{API}/reconnect", headers={"Authorization": header, "Accept": accept})
        assert resp.status_code == 401, (header, accept, resp.text)
    assert await _states(sessionmaker) == 0


async def test_reconnect_needs_an_admin_of_a_known_company(client, company, make_token, sessionmaker):
    for role in ("supervisor", "field_worker"):
        resp = await client.get(f"{API}/reconnect", params={"format": "json"},
                                headers={"Authorization": f"Bearer {make_token(company.id, role=role)}"})
        assert resp.status_code == 403 and "admin" in resp.json()["error"]["message"], resp.text
    other = await client.get(f"{API}/reconnect", params={"format": "json", "companyId": str(uuid.uuid4())},
                             headers={"Authorization": f"Bearer {make_token(company.id)}"})
    assert other.status_code == 403 and "another company" in other.json()["error"]["message"], other.text
    stranger = make_token(uuid.uuid4())
    resp = await client.get(f"{API}/reconnect", params={"format": "json"}, headers={"Authorization": f"Bearer {stranger}"})
    assert resp.status_code == 404, resp.text
    bad = await client.get(f"{API}/reconnect", params={"format": "xml"},
                           headers={"Authorization": f"Bearer {make_token(company.id)}"})
    assert bad.status_code == 422 and "format" in bad.json()["error"]["message"]
    assert await _states(sessionmaker) == 0


async def test_reconnect_starts_the_flow_for_the_admins_company_and_replaces_the_grant(
        client, sandbox, sandbox_server, company, auth_headers, sessionmaker, settings):
    first = await _connect(client, sandbox, company, auth_headers, sessionmaker, hard_seconds=5 * DAY)
    # the browser's redirect (bearer present): straight to the provider, state bound to this browser
    redirect = await client.get(f"{API}/reconnect", headers={**auth_headers, "Accept": "text/html"})
    assert redirect.status_code == 302, redirect.text
    url = redirect.headers["location"]
    assert url.startswith(f"{sandbox_server.base_url}/connect/oauth2?")
    q = flow.query_of(url)
    assert q["client_id"] == settings.qbo_client_id and q["redirect_uri"] == settings.qbo_redirect_uri
    assert "qbo_oauth_binding=" in redirect.headers["set-cookie"]
    async with sessionmaker() as s:
        st = (await s.execute(select(OAuthState).where(OAuthState.used_at.is_(None)))).scalar_one()
    assert st.company_id == company.id and st.user_sub == "user-1"

    # ?format=json (the console's call), then the consent and the callback: the same realm, a new grant
    resp = await client.get(f"{API}/reconnect", params={"format": "json"}, headers=auth_headers)
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"
    authorize = resp.json()["authorizeUrl"]
    params = await flow.consent(sandbox, authorize, first.realm_id)
    done = await flow.callback(client, params)
    assert done.status_code == 200, done.text
    after = await _row(sessionmaker, company.id)
    assert after.connection_status == "connected" and after.realm_id == first.realm_id
    assert _near(after.refresh_token_hard_expires_at, datetime.now(UTC) + timedelta(seconds=FIVE_YEARS))
    assert after.refresh_token_enc != first.refresh_token_enc
