"""Matching never doubles up: an already-linked QuickBooks record is suggested only with a warning, and
saving two CrewFlow workers onto one QuickBooks employee needs confirmDuplicates (409 without it,
nothing changed) and leaves an audit row."""

from __future__ import annotations

from sqlalchemy import func, select

from qbo_integration.mapping.models import MappingProfile
from qbo_integration.monitoring.models import AuditLogEntry
from tests.mapping import factories as f

API = "/api/v1/integrations/quickbooks"


async def _employee(sandbox, realm_id: str, qbo_id: str) -> dict:
    items = (await sandbox.get(f"/_sandbox/realms/{realm_id}/entities/Employee")).json()["items"]
    return next(e for e in items if e["Id"] == qbo_id)


async def test_linked_employee_is_suggested_with_a_warning(client, auth_headers, imported, sandbox, sessionmaker):
    cid = imported.company_id
    emp = await _employee(sandbox, imported.realm_id, "1")  # the import linked it to a CrewFlow worker
    async with sessionmaker() as s:
        shouty = f.add_worker(s, cid, emp["DisplayName"].upper())  # "TOM BENNETT", no email
        await s.commit()
    r = await client.get(f"{API}/mapping/suggestions", params={"companyId": str(cid)}, headers=auth_headers)
    assert r.status_code == 200, r.text
    assert r.json()["bulkAcceptAt"] == 0.9
    row = next(w for w in r.json()["workers"] if w["crewflowWorkerId"] == str(shouty.id))
    top = row["suggestions"][0]
    assert top["qboEmployeeId"] == "1" and top["reason"] == "name"
    assert top["linkedTo"] == emp["DisplayName"]


async def test_two_workers_on_one_employee_need_confirmation_and_are_audited(client, auth_headers, imported,
                                                                           sandbox, sessionmaker):
    cid = imported.company_id
    emp = await _employee(sandbox, imported.realm_id, "1")
    async with sessionmaker() as s:
        shouty = f.add_worker(s, cid, emp["DisplayName"].upper())
        await s.commit()
    body = {"companyId": str(cid),
            "mapping": {"employeeMapping": [{"crewflowWorkerId": str(shouty.id), "qboEmployeeId": "1"}]}}
    r = await client.put(f"{API}/mapping", json=body, headers=auth_headers)
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "duplicate_employee"
    assert f"QuickBooks employee '{emp['DisplayName']}' would get the hours of" in err["message"]
    assert emp["DisplayName"].upper() in err["message"] and "confirmDuplicates" in err["message"]
    assert {w["crewflowWorkerId"] for w in err["details"][0]["workers"]} >= {str(shouty.id)}
    assert len(err["details"][0]["workers"]) == 2
    async with sessionmaker() as s:  # nothing changed
        assert (await s.execute(select(func.count()).select_from(MappingProfile)
                                .where(MappingProfile.company_id == cid))).scalar_one() == 0

    r = await client.put(f"{API}/mapping", json={**body, "confirmDuplicates": True}, headers=auth_headers)
    assert r.status_code == 200, r.text
    async with sessionmaker() as s:
        rows = (await s.execute(select(AuditLogEntry).where(AuditLogEntry.company_id == cid,
                                                            AuditLogEntry.action == "mapping_duplicates_confirmed"))
                ).scalars().all()
    assert len(rows) == 1
    shared = rows[0].request_payload["shared"]
    assert shared[0]["qboEmployeeId"] == "1" and len(shared[0]["workers"]) == 2

    # Saving again (another change, the same pair kept) asks nothing more: the pair was confirmed.
    body["mapping"]["mapStartEnd"] = False
    r = await client.put(f"{API}/mapping", json=body, headers=auth_headers)
    assert r.status_code == 200, r.text

    # confirmDuplicates must be a real boolean
    r = await client.put(f"{API}/mapping", json={**body, "confirmDuplicates": "yes"}, headers=auth_headers)
    assert r.status_code == 422
