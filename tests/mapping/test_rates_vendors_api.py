"""Issue 15 on the mapping routes: pay rates (costRates) and subcontractors (vendorMapping) are saved,
read back and checked like the rest of the profile; bad input is a 4xx that changes nothing."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from qbo_integration.core_platform.models import User
from qbo_integration.mapping.models import MappingProfile
from tests.mapping import factories as f

API = "/api/v1/integrations/quickbooks"


async def _user(sessionmaker, company_id, qbo):
    async with sessionmaker() as s:
        return (await s.execute(select(User).where(User.company_id == company_id,
                                                   User.external_ids["qbo"].astext == qbo))).scalar_one()


async def _profile(sessionmaker, company_id) -> tuple[int, dict]:
    async with sessionmaker() as s:
        p = (await s.execute(select(MappingProfile).where(MappingProfile.company_id == company_id))).scalar_one()
        return p.revision, p.config


async def _put(client, auth_headers, cid, mapping):
    return await client.put(f"{API}/mapping", json={"companyId": str(cid), "mapping": mapping}, headers=auth_headers)


async def test_cost_rates_and_vendor_mapping_are_saved_and_read_back(client, auth_headers, imported, sessionmaker):
    cid = imported.company_id
    emp = await _user(sessionmaker, cid, "1")
    async with sessionmaker() as s:
        sub = f.add_worker(s, cid, "Apex Electric crew")
        await s.commit()
    mapping = {"vendorMapping": [{"crewflowWorkerId": str(sub.id), "qboVendorId": "1"}],
               "hourlyRates": {"default": "65"},
               "costRates": {"default": "28.5", "workers": [{"crewflowWorkerId": str(emp.id), "rate": 34}]}}
    r = await _put(client, auth_headers, cid, mapping)
    assert r.status_code == 200, r.text
    revision, config = await _profile(sessionmaker, cid)
    assert config["vendorMapping"] == {str(sub.id): "1"}
    assert config["costRates"] == {"default": 28.5, "workers": {str(emp.id): 34}}
    got = (await client.get(f"{API}/mapping", params={"companyId": str(cid)}, headers=auth_headers)).json()
    assert got["vendorMapping"] == [{"crewflowWorkerId": str(sub.id), "qboVendorId": "1"}]
    assert got["costRates"] == {"default": 28.5, "workers": [{"crewflowWorkerId": str(emp.id), "rate": 34}]}
    r = await _put(client, auth_headers, cid, mapping)
    assert r.json()["changed"] is False and (await _profile(sessionmaker, cid))[0] == revision


async def test_bad_cost_rates_and_vendor_mappings_are_refused_and_change_nothing(
        client, auth_headers, imported, sessionmaker):
    cid = imported.company_id
    emp = await _user(sessionmaker, cid, "1")
    good = {"hourlyRates": {"default": 65}, "costRates": {"default": 30}}
    assert (await _put(client, auth_headers, cid, good)).status_code == 200
    before = await _profile(sessionmaker, cid)
    ghost = str(uuid.uuid4())
    w = str(emp.id)
    invalid = [  # refused by the schema: 422
        {"costRates": {"default": -1}},
        {"costRates": {"default": 100001}},
        {"costRates": {"default": "12.345"}},
        {"costRates": {"default": "lots"}},
        {"costRates": {"default": True}},
        {"costRates": {"workers": [{"crewflowWorkerId": w}]}},
        {"costRates": {"workers": [{"crewflowWorkerId": "nope", "rate": 20}]}},
        {"costRates": {"workers": {w: 20}}},
        {"costRates": {"projects": []}},
        {"costRates": 30},
        {"vendorMapping": [{"crewflowWorkerId": w, "qboVendorId": "abc"}]},
        {"vendorMapping": [{"crewflowWorkerId": w}]},
    ]
    for mapping in invalid:
        r = await _put(client, auth_headers, cid, mapping)
        assert r.status_code == 422, (mapping, r.text)
        assert r.json()["error"]["message"]
    refused = [  # well-formed but wrong for this company: 400 naming what is wrong
        ({"costRates": {"workers": [{"crewflowWorkerId": ghost, "rate": 20}]}}, ghost),
        ({"costRates": {"workers": [{"crewflowWorkerId": w, "rate": 20}, {"crewflowWorkerId": w, "rate": 21}]}},
         "more than once"),
        ({"vendorMapping": [{"crewflowWorkerId": w, "qboVendorId": "99999"}]}, "vendor (subcontractor) ids"),
        ({"vendorMapping": [{"crewflowWorkerId": ghost, "qboVendorId": "1"}]}, ghost),
        ({"vendorMapping": [{"crewflowWorkerId": w, "qboVendorId": "1"}],
          "employeeMapping": [{"crewflowWorkerId": w, "qboEmployeeId": "1"}]}, "both a QuickBooks employee and a vendor"),
    ]
    for mapping, named in refused:
        r = await _put(client, auth_headers, cid, mapping)
        assert r.status_code == 400, (mapping, r.text)
        assert named in r.json()["error"]["message"], r.text
    assert await _profile(sessionmaker, cid) == before


async def test_test_mapping_previews_a_subcontractors_time_checked_against_qbo(client, auth_headers, imported,
                                                                               sessionmaker):
    cid = imported.company_id
    emp = await _user(sessionmaker, cid, "1")  # linked to Employee 1 by the import; a subcontractor now
    async with sessionmaker() as s:
        project = f.add_project(s, cid, "Oak St Remodel", qbo="1")
        t = f.add_timecard(s, cid, emp, project)
        await s.commit()
    r = await _put(client, auth_headers, cid, {"vendorMapping": [{"crewflowWorkerId": str(emp.id), "qboVendorId": "2"}],
                                               "hourlyRates": {"default": 90}, "costRates": {"default": 55}})
    assert r.status_code == 200, r.text
    got = (await client.get(f"{API}/mapping", params={"companyId": str(cid)}, headers=auth_headers)).json()
    assert str(emp.id) not in {e["crewflowWorkerId"] for e in got["employeeMapping"]}
    r = await client.post(f"{API}/test-mapping", json={"companyId": str(cid), "timecardId": str(t.id)},
                          headers=auth_headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["valid"] is True, out
    preview = out["preview"]
    assert preview["NameOf"] == "Vendor" and preview["VendorRef"]["value"] == "2" and "EmployeeRef" not in preview
    assert (preview["HourlyRate"], preview["CostRate"]) == (90, 55)
