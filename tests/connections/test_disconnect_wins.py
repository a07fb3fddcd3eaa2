"""Disconnect wins: nothing a token refresh in flight writes reconnects a disconnected company, and
disconnect holds no row lock (nor any transaction) while it calls QuickBooks' revoke endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from qbo_integration.connections import service
from qbo_integration.connections.crypto import aad_for
from qbo_integration.connections.models import Integration
from qbo_integration.connections.token_store import DbTokenStore
from qbo_integration.monitoring.models import AuditLogEntry
from qbo_integration.qbo import ErrorAction, QboError, TokenSet
from qbo_integration.qbo.oauth import QboOAuth
from tests.connections.flow import API


async def _row(sessionmaker) -> Integration:
    async with sessionmaker() as s:
        return (await s.execute(select(Integration))).scalar_one()


async def _expire_access_token(sessionmaker) -> None:
    async with sessionmaker() as s:
        await s.execute(update(Integration).values(access_token_expires_at=datetime.now(UTC) - timedelta(minutes=1)))
        await s.commit()


def _refresh_then(services, monkeypatch, meanwhile) -> None:
    """services' refresh gets its new pair from the sandbox, then `meanwhile` runs before it returns."""
    real = services.qbo.oauth.refresh

    async def refresh(refresh_token: str) -> TokenSet:
        new = await real(refresh_token)
        await meanwhile()
        return new

    monkeypatch.setattr(services.qbo.oauth, "refresh", refresh)


async def test_a_refresh_in_flight_does_not_reconnect_a_disconnected_company(
    client, auth_headers, connected_company, services, sessionmaker, monkeypatch,
):
    cid = connected_company.company_id
    async with sessionmaker() as s:
        await s.execute(update(Integration).values(enabled=True))
        await s.commit()
    await _expire_access_token(sessionmaker)

    async def disconnect() -> None:
        r = await client.request("DELETE", f"{API}/disconnect", json={"companyId": str(cid)}, headers=auth_headers)
        assert r.status_code == 200, r.text

    _refresh_then(services, monkeypatch, disconnect)
    with pytest.raises(QboError) as ei:
        await services.qbo.company(cid, connected_company.realm_id).company_info()
    assert ei.value.resolution.action == ErrorAction.CONNECTION_LOST
    row = await _row(sessionmaker)
    assert row.connection_status == "disconnected" and row.enabled is False
    assert row.access_token_enc is None and row.refresh_token_enc is None
    # and the next call does not find tokens either
    with pytest.raises(QboError) as ei:
        await services.qbo.company(cid, connected_company.realm_id).company_info()
    assert ei.value.resolution.action == ErrorAction.CONNECTION_LOST


async def test_a_refresh_of_the_old_grant_does_not_overwrite_a_reconnect(
    connected_company, services, sessionmaker, sandbox, monkeypatch,
):
    """Disconnect and reconnect happen while a refresh of the old grant is in flight: the new grant stays."""
    cid = connected_company.company_id
    await _expire_access_token(sessionmaker)
    fresh = TokenSet.from_token_response(
        (await sandbox.post(f"/_sandbox/realms/{connected_company.realm_id}/grants")).json())

    async def reconnect() -> None:
        async with sessionmaker() as s:
            row = await service.get_integration(s, cid, for_update=True)
            assert row is not None
            service.clear_connection(row, status="disconnected", reason="test")
            service.store_connection(row, services.cipher, fresh, realm_id=connected_company.realm_id,
                                     company_name="again", user_sub="user-2")
            await s.commit()

    _refresh_then(services, monkeypatch, reconnect)
    with pytest.raises(QboError):
        await services.qbo.company(cid, connected_company.realm_id).company_info()
    row = await _row(sessionmaker)
    assert row.connection_status == "connected"
    assert services.cipher.decrypt(row.refresh_token_enc, aad_for(row.id)) == fresh.refresh_token
    monkeypatch.undo()
    info = await services.qbo.company(cid, connected_company.realm_id).company_info()  # the new grant works
    assert info.CompanyName


async def test_a_lost_grant_reported_after_a_disconnect_leaves_it_disconnected(
    client, auth_headers, connected_company, services, sessionmaker,
):
    cid = connected_company.company_id
    r = await client.request("DELETE", f"{API}/disconnect", json={"companyId": str(cid)}, headers=auth_headers)
    assert r.status_code == 200
    for store in (services.token_store, DbTokenStore(sessionmaker, services.cipher)):
        await store.mark_lost(str(cid), "invalid_grant from a refresh that was in flight")
    row = await _row(sessionmaker)
    assert row.connection_status == "disconnected" and "Disconnected by" in row.connection_reason


async def test_disconnect_holds_no_row_lock_while_revoking(
    client, auth_headers, connected_company, sessionmaker, monkeypatch,
):
    cid = connected_company.company_id
    real = QboOAuth.revoke
    seen: list[object] = []

    async def revoke(self: QboOAuth, token: str) -> None:
        async with sessionmaker() as s:
            try:
                await s.execute(text("SET LOCAL lock_timeout = '2s'"))
                status = (await s.execute(
                    select(Integration.connection_status).where(Integration.company_id == cid).with_for_update()
                )).scalar_one()
                seen.append(status)
                await s.commit()
            except Exception as exc:  # noqa: BLE001 - recorded and asserted below
                seen.append(exc)
        await real(self, token)

    monkeypatch.setattr(QboOAuth, "revoke", revoke)
    r = await client.request("DELETE", f"{API}/disconnect", json={"companyId": str(cid)}, headers=auth_headers)
    assert r.status_code == 200 and r.json() == {"success": True, "revoked": True}
    # the lock was free during the revoke, and the disconnect was already committed
    assert seen == ["disconnected"], seen
    async with sessionmaker() as s:
        audit = (await s.execute(select(AuditLogEntry.action, AuditLogEntry.response_payload))).all()
    assert [(a, p["revoked"]) for a, p in audit] == [("disconnect", True)]
