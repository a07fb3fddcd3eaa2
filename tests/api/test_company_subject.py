"""Company access as typed dependencies (api/deps.py): the same answers the handlers' inline checks gave,
whether the company is named in the query string or the JSON body."""

from __future__ import annotations

import uuid

API = "/api/v1/integrations/quickbooks"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_another_company_is_refused_before_the_role_is_looked_at(client, make_token, company):
    cid = str(company.id)
    stranger = _auth(make_token(uuid.uuid4(), role="field_worker"))
    for method, path, kw in [
        ("GET", "/mapping/profiles", {"params": {"companyId": cid}}),  # CompanyReader
        ("GET", "/mapping/suggestions", {"params": {"companyId": cid}}),  # CompanyAdmin
        ("POST", "/sync-now", {"json": {"companyId": cid}}),  # AdminOf[SyncNowIn]
        ("DELETE", "/disconnect", {"params": {"companyId": cid}}),
    ]:
        r = await client.request(method, f"{API}{path}", headers=stranger, **kw)
        assert (r.status_code, r.json()["error"]["message"]) == (403, "This token belongs to another company"), path


async def test_a_role_below_admin_reads_but_does_not_manage(client, make_token, company):
    cid = str(company.id)
    worker = _auth(make_token(company.id, role="field_worker"))
    assert (await client.get(f"{API}/mapping/profiles", params={"companyId": cid}, headers=worker)).status_code == 200
    for method, path, kw in [
        ("GET", "/mapping/suggestions", {"params": {"companyId": cid}}),
        ("POST", "/sync-now", {"json": {"companyId": cid}}),
        ("DELETE", "/disconnect", {"json": {"companyId": cid}}),
    ]:
        r = await client.request(method, f"{API}{path}", headers=worker, **kw)
        assert (r.status_code, r.json()["error"]["message"]) == (
            403, "Managing the QuickBooks integration needs the admin role"), path


async def test_a_body_is_validated_before_access_is_checked_as_the_handlers_did(client, make_token, company):
    """AdminOf reads the route's own body: an invalid one is a 422 whoever sends it."""
    worker = _auth(make_token(uuid.uuid4(), role="field_worker"))
    r = await client.post(f"{API}/sync-now", headers=worker, json={"companyId": str(company.id),
                                                                   "timecardIds": "not a list"})
    assert r.status_code == 422, r.text
    r = await client.post(f"{API}/sync-now", headers=worker, json={})
    assert r.status_code == 422, r.text
