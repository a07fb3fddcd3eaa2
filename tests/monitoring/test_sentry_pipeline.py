"""Sentry through sentry-sdk's own pipeline (init, integrations, before_send, serialisation) with a
transport that keeps the envelopes: what would leave the process is what these tests read."""

from __future__ import annotations

import logging

import httpx
import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from qbo_integration.observability import init_sentry, redact
from qbo_integration.qbo.errors import QboError


class CapturingTransport(Transport):
    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def sent(self) -> bytes:
        return b"\n".join(e.serialize() for e in self.envelopes)


@pytest.fixture
def sentry(settings):
    transport = CapturingTransport()
    init_sentry(settings.model_copy(update={"sentry_dsn": "https://public@sentry.invalid/1"}), component="test",
                transport=transport)
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: a disabled client for the rest of the session


async def test_a_qbo_failure_reaches_sentry_without_its_token(sentry, services, connected_company, sessionmaker):
    """A real QBO call (the sandbox over HTTP) fails; the request loop's locals hold the bearer token."""
    cid, realm = connected_company.company_id, connected_company.realm_id
    access = await services.qbo.tokens.access_token(str(cid))
    assert len(access) > 20
    logging.getLogger("qbo_integration.test").info("calling QBO with %s", f"Bearer {access}")  # a breadcrumb
    with pytest.raises(QboError) as err:
        await services.qbo.company(cid, realm).get_time_activity("999999999")
    with sentry_sdk.new_scope() as scope:
        scope.set_extra("request_headers", {"Authorization": f"Bearer {access}", "Accept": "application/json"})
        scope.set_context("qbo", {"note": f"access_token={access}"})
        sentry_sdk.capture_exception(err.value)
    sentry_sdk.flush()
    body = sentry.sent()
    assert b'"exception"' in body and type(err.value).__name__.encode() in body  # the error did get there
    assert access.encode() not in body
    assert b'"vars"' not in body  # no frame's local variables at all


def test_log_events_and_breadcrumbs_are_redacted(sentry):
    log = logging.getLogger("qbo_integration.test")
    log.info("refreshing with refresh_token=rt-SECRET-1 and code=AUTH-CODE-9")
    log.error("token exchange failed: Authorization: Bearer at-SECRET-2", extra={"client_secret": "cs-SECRET-3"})
    sentry_sdk.flush()
    body = sentry.sent()
    assert b"token exchange failed" in body
    for secret in (b"rt-SECRET-1", b"AUTH-CODE-9", b"at-SECRET-2", b"cs-SECRET-3"):
        assert secret not in body, secret


def test_one_redactor_for_keys_and_text():
    out = redact({"headers": {"Authorization": "Bearer abc.def", "Accept": "json"}, "n": 3,
                  "body": '{"refresh_token": "rt-1", "state": "s-2"}', "url": "https://x/cb?code=c-3&realmId=9"})
    flat = repr(out)
    for secret in ("abc.def", "rt-1", "s-2", "c-3"):
        assert secret not in flat, secret
    assert out["headers"]["Accept"] == "json" and out["n"] == 3 and "realmId=9" in out["url"]


def _broken(*args, **kwargs):
    raise RuntimeError("a bug in the callback")


async def test_a_traced_oauth_callback_sends_no_code_state_or_token(sentry, settings, sessionmaker, redis,
                                                                     auth_headers, monkeypatch):
    """sentry-sdk 3 sends spans (which no before_send sees) for a request whose `sentry-trace` header says
    "sampled", even with traces_sample_rate 0 or None; their attributes hold the query string."""
    from asgi_lifespan import LifespanManager

    from qbo_integration.app import create_app
    from qbo_integration.connections import flows

    monkeypatch.setattr(flows, "begin_connect", _broken)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = {**auth_headers, "sentry-trace": "771a43a4192642f0b136d5159a501700-b7ad6b7169203331-1",
               "Cookie": "qboi_bind=COOKIE-SECRET-6"}
    request = httpx.Request("GET", "http://t/api/v1/integrations/quickbooks/callback", headers=headers,
                            params={"code": "AUTH-CODE-7", "state": "STATE-8", "realmId": "9130"})
    async with LifespanManager(app):  # not through AsyncClient.send, whose Sentry patch replaces sentry-trace
        resp = await transport.handle_async_request(request)
    assert resp.status_code == 500
    sentry_sdk.flush()
    items = [item for env in sentry.envelopes for item in env.items]
    assert [i for i in items if i.type == "event"], "the error reached Sentry"
    assert not [i for i in items if i.type in ("span", "transaction", "log")], [i.type for i in items]
    body = sentry.sent()
    bearer = auth_headers["Authorization"].split()[1].encode()
    for secret in (b"AUTH-CODE-7", b"STATE-8", b"COOKIE-SECRET-6", bearer):
        assert secret not in body, secret
