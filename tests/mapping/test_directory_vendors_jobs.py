"""Issue 15 in the directory import: Vendors (subcontractors) are read and offered in the wizard, and
customers and jobs carry QBO's full name ("Parent:Job"), a renamed parent renaming its jobs' labels."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from qbo_integration.core_platform.models import Project, User
from qbo_integration.directory import import_flow, importer
from qbo_integration.directory.models import QboDirectoryRecord
from qbo_integration.mapping.profiles import profile_targets

API = "/api/v1/integrations/quickbooks"


async def _names(sessionmaker, company_id, entity) -> dict[str, str]:
    async with sessionmaker() as s:
        rows = await s.execute(select(QboDirectoryRecord.qbo_id, QboDirectoryRecord.name)
                               .where(QboDirectoryRecord.company_id == company_id,
                                      QboDirectoryRecord.entity_type == entity))
        return dict(rows.all())


async def _qbo_post(sandbox, realm, path, body):
    """A write through QBO's own API (the admin API's raw upsert would not recompute full names)."""
    token = (await sandbox.post(f"/_sandbox/realms/{realm}/grants")).json()["access_token"]
    r = await sandbox.post(f"/v3/company/{realm}{path}", params={"minorversion": 75}, json=body,
                           headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    assert r.status_code == 200, r.text
    return r.json()


async def test_vendors_are_imported_and_offered_beside_employees(client, auth_headers, sessionmaker, services, queue,
                                                                connected_company, sandbox):
    cid, realm = connected_company.company_id, connected_company.realm_id
    vendors = (await sandbox.get(f"/_sandbox/realms/{realm}/entities/Vendor")).json()["items"]
    assert vendors
    done = await import_flow.run_import(sessionmaker, services.qbo, queue, cid, mapped=profile_targets)
    assert done["status"] == "completed" and done["directory"]["Vendor"]["created"] == len(vendors)
    assert await _names(sessionmaker, cid, "Vendor") == {v["Id"]: v["DisplayName"] for v in vendors}
    async with sessionmaker() as s:  # a vendor is no CrewFlow worker: the import makes no user of it
        names = set((await s.execute(select(User.name).where(User.company_id == cid))).scalars())
    assert not names & {v["DisplayName"] for v in vendors}
    r = await client.get(f"{API}/mapping/records", params={"companyId": str(cid)}, headers=auth_headers)
    assert r.status_code == 200, r.text
    offered = r.json()["qbo"]
    assert {q["qboId"] for q in offered["Vendor"]} == {v["Id"] for v in vendors} and offered["Employee"]


async def test_jobs_are_named_parent_job_and_follow_a_renamed_parent(sessionmaker, services, queue,
                                                                     connected_company, sandbox):
    cid, realm = connected_company.company_id, connected_company.realm_id
    customers = (await sandbox.get(f"/_sandbox/realms/{realm}/entities/Customer")).json()["items"]
    job = next(c for c in customers if c.get("Job") and c.get("Active") is not False)
    parent = next(c for c in customers if c["Id"] == job["ParentRef"]["value"])
    assert (await import_flow.run_import(sessionmaker, services.qbo, queue, cid, mapped=profile_targets))["status"] == "completed"
    labels = await _names(sessionmaker, cid, "Customer")
    assert labels[job["Id"]] == f"{parent['DisplayName']}:{job['DisplayName']}" == job["FullyQualifiedName"]
    assert labels[parent["Id"]] == parent["DisplayName"]
    async with sessionmaker() as s:  # CrewFlow's project keeps the job's own name
        project = (await s.execute(select(Project).where(Project.company_id == cid,
                                                         Project.external_ids["qbo"].astext == job["Id"]))).scalar_one()
    assert project.name == job["DisplayName"]

    await asyncio.sleep(1.1)  # QBO admits 10 requests a second per realm; the import just made most of them
    await _qbo_post(sandbox, realm, "/customer", {"Id": parent["Id"], "SyncToken": parent["SyncToken"],
                                                  "sparse": True, "DisplayName": "Renamed Parent Co"})
    again = await import_flow.run_import(sessionmaker, services.qbo, queue, cid, mapped=profile_targets)  # CDC: QBO sends only the parent
    assert again["mode"] == "cdc"
    labels = await _names(sessionmaker, cid, "Customer")
    assert labels[parent["Id"]] == "Renamed Parent Co"
    assert labels[job["Id"]] == f"Renamed Parent Co:{job['DisplayName']}"
    # Reading the customers again agrees: QBO itself now answers the job's new full name.
    listed = await services.qbo.company(cid, realm).query_all("SELECT * FROM Customer WHERE Active IN (true, false)")
    async with sessionmaker() as s:
        await importer.apply(s, cid, importer.Fetched("since", {"Customer": listed}, complete=False),
                             profile_targets)
        await s.commit()
    assert (await _names(sessionmaker, cid, "Customer"))[job["Id"]] == f"Renamed Parent Co:{job['DisplayName']}"
