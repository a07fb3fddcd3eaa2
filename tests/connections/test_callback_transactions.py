"""The OAuth callback holds no transaction across the code exchange and the companyinfo test call: the
state is consumed and committed first (a replayed callback finds it used), and the
grant is stored in a second transaction that re-checks the row (a disconnect meanwhile wins)."""

from __future__ import annotations

from sqlalchemy import select

from qbo_integration.connections import flows
from qbo_integration.connections.models import Integration, OAuthState
from qbo_integration.connections.states import hash_state
from qbo_integration.monitoring.models import AuditLogEntry
from qbo_integration.qbo import QboError, TokenSet
from qbo_integration.qbo.oauth import QboOAuth
from tests.connections import flow
from tests.connections.flow import API
from tests.txprobe import idle_in_transaction, row_lock


async def _state_used(sessionmaker, state: str) -> bool:
    async with sessionmaker() as s:
        row = (await s.execute(select(OAuthState).where(OAuthState.state_hash == hash_state(state)))).scalar_one()
        return row.used_at is not None


async def test_no_transaction_is_open_during_the_exchange_and_the_test_call(
    client, sandbox, company, auth_headers, sessionmaker, monkeypatch,
):
    realm = await flow.new_realm(sandbox)
    url = await flow.start(client, company.id, auth_headers)
    params = await flow.consent(sandbox, url, realm["realmId"])
    seen: list[tuple] = []

    async def probe(step: str) -> None:
        lock = await row_lock(sessionmaker, OAuthState.__table__.fullname, "state_hash = :h",
                              h=hash_state(params["state"]))
        seen.append((step, await idle_in_transaction(sessionmaker), lock, await _state_used(sessionmaker,
                                                                                            params["state"])))

    real_exchange, real_probe = QboOAuth.exchange_code, flows.probe_company_info

    async def exchange_code(self, *args, **kwargs) -> TokenSet:
        await probe("exchange")
        return await real_exchange(self, *args, **kwargs)

    async def probe_company_info(*args, **kwargs):
        await probe("companyinfo")
        return await real_probe(*args, **kwargs)

    monkeypatch.setattr(QboOAuth, "exchange_code", exchange_code)
    monkeypatch.setattr(flows, "probe_company_info", probe_company_info)
    r = await flow.callback(client, params)
    assert r.status_code == 200, r.text
    # no open transaction anywhere, the state row unlocked and its use already committed, at both calls
    assert seen == [("exchange", 0, "free", True), ("companyinfo", 0, "free", True)], seen
    replay = await flow.callback(client, params, bound_to=params["state"])  # same browser, cookie kept
    assert replay.status_code == 400 and replay.json()["error"]["code"] == "state_used"
    async with sessionmaker() as s:
        row = (await s.execute(select(Integration))).scalar_one()
        audit = (await s.execute(select(AuditLogEntry.action, AuditLogEntry.status))).all()
    assert row.connection_status == "connected" and row.realm_id == realm["realmId"]
    assert ("connect", "success") in [tuple(a) for a in audit]


async def test_a_disconnect_during_the_exchange_wins_and_the_new_grant_is_revoked(
    client, sandbox, connected_company, auth_headers, sessionmaker, services, monkeypatch,
):
    cid = connected_company.company_id
    url = await flow.start(client, cid, auth_headers)  # a reconnect of the same realm
    params = await flow.consent(sandbox, url, connected_company.realm_id)
    granted: list[TokenSet] = []
    real_exchange = QboOAuth.exchange_code

    async def exchange_code(self, *args, **kwargs) -> TokenSet:
        tokens = await real_exchange(self, *args, **kwargs)
        granted.append(tokens)
        d = await client.request("DELETE", f"{API}/disconnect", json={"companyId": str(cid)}, headers=auth_headers)
        assert d.status_code == 200, d.text
        return tokens

    monkeypatch.setattr(QboOAuth, "exchange_code", exchange_code)
    r = await flow.callback(client, params)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "changed_meanwhile" and "disconnected" in r.json()["error"]["message"]
    async with sessionmaker() as s:
        row = (await s.execute(select(Integration))).scalar_one()
        audit = (await s.execute(select(AuditLogEntry.action, AuditLogEntry.status))).all()
    assert row.connection_status == "disconnected"
    assert row.access_token_enc is None and row.refresh_token_enc is None
    audit = [tuple(a) for a in audit]
    assert ("connect", "failure") in audit and ("connect", "success") not in audit
    monkeypatch.undo()
    (tokens,) = granted
    try:  # the unused grant was revoked at QuickBooks
        await services.qbo.oauth.refresh(tokens.refresh_token)
    except QboError:
        pass
    else:
        raise AssertionError("the grant of the refused callback still refreshes")


async def test_the_connect_reads_the_books_rules_with_no_transaction_open_and_stores_them(
    client, sandbox, company, auth_headers, sessionmaker, monkeypatch,
):
    from qbo_integration.connections import books

    realm = await flow.new_realm(sandbox)
    r = await sandbox.put(f"/_sandbox/realms/{realm['realmId']}/preferences", json={"AccountingInfoPrefs": {
        "BookCloseDate": "2026-10-31", "ClassTrackingPerTxn": False, "TrackDepartments": False}})
    assert r.status_code == 200, r.text
    url = await flow.start(client, company.id, auth_headers)
    params = await flow.consent(sandbox, url, realm["realmId"])
    open_during: list[int] = []
    real_read = books.read

    async def read(*args, **kwargs):
        open_during.append(await idle_in_transaction(sessionmaker))
        return await real_read(*args, **kwargs)

    monkeypatch.setattr(books, "read", read)
    assert (await flow.callback(client, params)).status_code == 200
    assert open_during == [0]
    async with sessionmaker() as s:
        rules = await books.get_rules(s, company.id)
    assert (str(rules.close_date), rules.class_tracking, rules.department_tracking) == ("2026-10-31", False, False)
    assert rules.read_at is not None
