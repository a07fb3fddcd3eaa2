"""Connection status, test-connection outcomes, a lost grant, and disconnect's bad inputs."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from qbo_integration.connections import service
from qbo_integration.connections.models import Integration
from qbo_integration.monitoring.models import AlertOutbox, AuditLogEntry
from tests.connections import flow
from tests.connections.flow import API


async def test_status_of_a_company_never_connected(client, company, auth_headers, make_token):
    resp = await client.get(f"{API}/connection", params={"companyId": str(company.id)}, headers=auth_headers)
    assert resp.status_code == 200
    assert resp.json()["status"] == "never_connected" and resp.json()["realmId"] is None
    # any role of the company may read it
    sup = {"Authorization": f"Bearer {make_token(company.id, role='field_worker')}"}
    assert (await client.get(f"{API}/connection", params={"companyId": str(company.id)}, headers=sup)
            ).status_code == 200


async def test_test_connection_when_not_connected(client, company, auth_headers, sessionmaker):
    before = await flow.snapshot(sessionmaker)
    resp = await client.post(f"{API}/test-connection", json={"companyId": str(company.id)}, headers=auth_headers)
    assert resp.status_code == 200
    assert resp.json() == {"connected": False, "companyName": None,
                           "error": "QuickBooks is not connected for this company"}
    assert await flow.snapshot(sessionmaker) == before


async def test_test_connection_on_the_shared_fixture(client, connected_company, sessionmaker, make_token):
    headers = {"Authorization": f"Bearer {make_token(connected_company.company_id)}"}
    resp = await client.post(f"{API}/test-connection", json={"companyId": str(connected_company.company_id)},
                             headers=headers)
    assert resp.json() == {"connected": True, "companyName": connected_company.company_name, "error": None}
    async with sessionmaker() as s:
        row = (await s.execute(select(Integration))).scalar_one()
        audit = (await s.execute(select(AuditLogEntry.action, AuditLogEntry.status, AuditLogEntry.actor))).all()
    assert row.last_test_ok is True and row.last_test_at is not None
    assert [tuple(a) for a in audit] == [("test_connection", "success", "user-1")]


async def test_revoked_grant_marks_the_connection_lost(client, sandbox, connected_company, sessionmaker, make_token):
    """invalid_grant on refresh: status lost with the reason, sync off, audit row, alert queued."""
    cid = connected_company.company_id
    async with sessionmaker() as s:
        await s.execute(Integration.__table__.update().values(enabled=True))
        await s.commit()
    await sandbox.post(f"/_sandbox/realms/{connected_company.realm_id}/tokens/revoke")
    headers = {"Authorization": f"Bearer {make_token(cid)}"}
    resp = await client.post(f"{API}/test-connection", json={"companyId": str(cid)}, headers=headers)
    body = resp.json()
    assert resp.status_code == 200 and body["connected"] is False
    assert "reconnect" in body["error"].lower() or "lost" in body["error"].lower()
    status = (await client.get(f"{API}/connection", params={"companyId": str(cid)}, headers=headers)).json()
    assert status["status"] == "lost" and "invalid_grant" in status["reason"] and status["syncEnabled"] is False
    async with sessionmaker() as s:
        row = (await s.execute(select(Integration))).scalar_one()
        actions = {tuple(a) for a in (await s.execute(select(AuditLogEntry.action, AuditLogEntry.status))).all()}
        alerts = (await s.execute(select(AlertOutbox.kind))).scalars().all()
    assert row.access_token_enc is None and row.refresh_token_enc is None and row.enabled is False
    assert ("connection_lost", "failure") in actions and ("test_connection", "failure") in actions
    assert alerts == ["connection_lost"]
    # a second loss report changes nothing more (no second alert)
    async with sessionmaker() as s:
        assert await service.mark_lost(s, cid, "again") is False
        await s.commit()
    # a lost connection can be disconnected (clears the status for a fresh connect)
    resp = await client.request("DELETE", f"{API}/disconnect", params={"companyId": str(cid)}, headers=headers)
    assert resp.status_code == 200 and resp.json()["success"] is True


async def test_require_connected(sessionmaker, company, connected_company):
    async with sessionmaker() as s:
        assert (await service.require_connected(s, connected_company.company_id)).realm_id == connected_company.realm_id
        with pytest.raises(service.NotConnected) as err:
            await service.require_connected(s, uuid.uuid4())
    assert err.value.status_code == 409 and err.value.message == "QuickBooks is not connected for this company"


@pytest.mark.parametrize(
    ("kwargs", "status", "needle"),
    [
        ({}, 400, "companyId is required"),
        ({"json": {"companyId": "nope"}}, 422, "companyId"),
        ({"json": {"companyId": 12}}, 422, "companyId"),
        ({"json": {"companyId": "{cid}", "extra": 1}}, 422, "extra"),
        ({"json": {"companyId": "{cid}"}, "params": {"companyId": "{other}"}}, 400, "differs"),
        ({"json": {"companyId": "{cid}"}}, 409, "not connected"),
    ],
)
async def test_disconnect_bad_inputs_change_nothing(client, company, auth_headers, sessionmaker, kwargs, status,
                                                    needle):
    def fill(v):
        if isinstance(v, dict):
            return {k: fill(x) for k, x in v.items()}
        return v.replace("{cid}", str(company.id)).replace("{other}", str(uuid.uuid4())) if isinstance(v, str) else v

    before = await flow.snapshot(sessionmaker)
    resp = await client.request("DELETE", f"{API}/disconnect", headers=auth_headers, **fill(kwargs))
    assert resp.status_code == status, resp.text
    assert needle in resp.json()["error"]["message"] or needle in str(resp.json()["error"].get("details"))
    assert await flow.snapshot(sessionmaker) == before


@pytest.mark.parametrize("body", [{}, {"companyId": None}, {"companyId": "x"}, {"companyId": "{cid}", "a": 1}])
async def test_test_connection_bad_bodies(client, company, auth_headers, sessionmaker, body):
    body = {k: (str(company.id) if v == "{cid}" else v) for k, v in body.items()}
    before = await flow.snapshot(sessionmaker)
    resp = await client.post(f"{API}/test-connection", json=body, headers=auth_headers)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_input"
    assert await flow.snapshot(sessionmaker) == before
