"""The role rule (README, "Roles"): pay rates, people's emails and QuickBooks' own records are for admins;
supervisors and field workers read the integration's state without them."""

from __future__ import annotations

import pytest

from qbo_integration.monitoring import audit

API = "/api/v1/integrations/quickbooks"
ADMIN_ONLY = ["/mapping", "/mapping/suggestions", "/mapping/samples", "/mapping/records", "/drift",
              "/directory/proposals"]
EVERYONE = ["/mapping/profiles", "/mapping/validation", "/directory/orphans", "/health", "/setup", "/connection",
            "/audit-log"]


@pytest.mark.parametrize("role", ["supervisor", "field_worker"])
async def test_rates_emails_and_records_are_for_admins(client, make_token, connected_company, sessionmaker,
                                                      role):
    cid = str(connected_company.company_id)
    async with sessionmaker() as s:
        await audit.record(s, integration_id=connected_company.integration_id, company_id=connected_company.company_id,
                           action="timecard_created", status="success",
                           request_payload={"HourlyRate": 72.5, "CostRate": 31},
                           response_payload={"PrimaryEmailAddr": {"Address": "ann@example.test"}})
        await s.commit()
    them = {"Authorization": f"Bearer {make_token(connected_company.company_id, role=role)}"}
    admin = {"Authorization": f"Bearer {make_token(connected_company.company_id)}"}
    for path in ADMIN_ONLY:
        r = await client.get(f"{API}{path}", params={"companyId": cid}, headers=them)
        assert r.status_code == 403 and "admin" in r.json()["error"]["message"], (path, r.text)
        assert (await client.get(f"{API}{path}", params={"companyId": cid}, headers=admin)).status_code == 200, path
    for path in EVERYONE:
        r = await client.get(f"{API}{path}", params={"companyId": cid}, headers=them)
        assert r.status_code == 200, (path, r.text)
    query = {"companyId": cid, "action": "timecard_created"}
    [theirs] = (await client.get(f"{API}/audit-log", params=query, headers=them)).json()["logs"]
    [admins] = (await client.get(f"{API}/audit-log", params=query, headers=admin)).json()["logs"]
    assert (theirs["requestPayload"], theirs["responsePayload"]) == (None, None)
    assert admins["requestPayload"] == {"HourlyRate": 72.5, "CostRate": 31}
    assert theirs["action"] == admins["action"] == "timecard_created"
