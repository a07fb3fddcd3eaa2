"""Mapping routes over HTTP: GET/PUT mapping, profiles, validation on save, suggestions, reports, auth."""

from __future__ import annotations

import collections
import uuid

from sqlalchemy import func, select

from qbo_integration.core_platform.models import Project, User
from qbo_integration.mapping.models import MappingProfile
from qbo_integration.monitoring.models import AuditLogEntry, SetupChecklist
from tests.mapping import factories as f

API = "/api/v1/integrations/quickbooks"
CLASS_ID = "5000000000000007281"


async def _user(sessionmaker, company_id, qbo):
    async with sessionmaker() as s:
        return (await s.execute(select(User).where(User.company_id == company_id,
                                                   User.external_ids["qbo"].astext == qbo))).scalar_one()


async def _project(sessionmaker, company_id, qbo):
    async with sessionmaker() as s:
        return (await s.execute(select(Project).where(Project.company_id == company_id,
                                                      Project.external_ids["qbo"].astext == qbo))).scalar_one()


async def _profiles(sessionmaker, company_id):
    async with sessionmaker() as s:
        return (await s.execute(select(MappingProfile).where(MappingProfile.company_id == company_id))).scalars().all()


async def test_get_put_mapping_revisions_audit_and_setup_step(client, auth_headers, imported, sessionmaker):
    cid = imported.company_id
    r = await client.get(f"{API}/mapping", params={"companyId": str(cid)}, headers=auth_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["profileId"] is None and body["costCodeField"] == "ServiceItem"
    assert body["employeeMapping"] and all(e["source"] == "import" for e in body["employeeMapping"])

    async with sessionmaker() as s:
        worker = f.add_worker(s, cid, "Unlinked Person")
        cc = f.add_cost_code(s, cid, "100", "Framing")
        await s.commit()
    cool = await _project(sessionmaker, cid, "1")
    mapping = {"costCodeField": "Class", "profileName": "Office",
               "employeeMapping": [{"crewflowWorkerId": str(worker.id), "qboEmployeeId": "2"}],
               "customerMapping": [{"crewflowProjectId": str(cool.id), "qboCustomerId": "1"}],
               "costCodeMapping": [{"crewflowCostCodeId": str(cc.id), "qboClassId": CLASS_ID}],
               "locationMapping": [{"crewflowProjectId": str(cool.id), "qboDepartmentId": "1"}],
               "hourlyRates": {"default": 55, "projects": [{"crewflowProjectId": str(cool.id), "rate": "72.5"}]},
               "mapStartEnd": True}
    r = await client.put(f"{API}/mapping", json={"companyId": str(cid), "mapping": mapping, "confirmDuplicates": True}, headers=auth_headers)
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["success"] and saved["revision"] == 1 and saved["changed"]
    r = await client.put(f"{API}/mapping", json={"companyId": str(cid), "mapping": mapping, "confirmDuplicates": True}, headers=auth_headers)
    assert r.json()["revision"] == 1 and r.json()["changed"] is False  # same content: no new revision
    mapping["costCodeMapping"] = []
    r = await client.put(f"{API}/mapping", json={"companyId": str(cid), "mapping": mapping, "confirmDuplicates": True}, headers=auth_headers)
    assert r.json()["revision"] == 2

    got = (await client.get(f"{API}/mapping", params={"companyId": str(cid)}, headers=auth_headers)).json()
    assert got["profileName"] == "Office" and got["costCodeField"] == "Class" and got["revision"] == 2
    explicit = [e for e in got["employeeMapping"] if e["source"] == "profile"]
    assert explicit == [{"crewflowWorkerId": str(worker.id), "qboEmployeeId": "2", "source": "profile"}]
    assert got["hourlyRates"] == {"default": 55, "projects": [{"crewflowProjectId": str(cool.id), "rate": 72.5}]}
    async with sessionmaker() as s:
        actions = (await s.execute(select(AuditLogEntry.action).where(AuditLogEntry.company_id == cid))).scalars().all()
        assert actions.count("mapping_saved") == 2
        assert (await s.get(SetupChecklist, cid)).mapping_saved_at is not None


async def test_put_mapping_rejects_unknown_ids_and_changes_nothing(client, auth_headers, imported, sessionmaker):
    cid = imported.company_id
    ghost = uuid.uuid4()
    emp = await _user(sessionmaker, cid, "1")
    cases = [
        ({"employeeMapping": [{"crewflowWorkerId": str(ghost), "qboEmployeeId": "1"}]}, str(ghost)),
        ({"employeeMapping": [{"crewflowWorkerId": str(emp.id), "qboEmployeeId": "99999"}]}, "99999"),
        ({"customerMapping": [{"crewflowProjectId": str(ghost), "qboCustomerId": "1"}]}, str(ghost)),
        ({"costCodeMapping": [{"crewflowCostCodeId": str(ghost), "qboServiceItemId": "1"}]}, str(ghost)),
        ({"employeeMapping": [{"crewflowWorkerId": str(emp.id), "qboEmployeeId": "1"},
                              {"crewflowWorkerId": str(emp.id), "qboEmployeeId": "2"}]}, "more than once"),
    ]
    for mapping, named in cases:
        r = await client.put(f"{API}/mapping", json={"companyId": str(cid), "mapping": mapping}, headers=auth_headers)
        assert r.status_code == 400, (mapping, r.text)
        assert named in r.json()["error"]["message"]
    async with sessionmaker() as s:
        cc = f.add_cost_code(s, cid, "200", "Concrete")
        await s.commit()
    r = await client.put(f"{API}/mapping", json={"companyId": str(cid), "mapping": {
        "costCodeField": "Class", "costCodeMapping": [{"crewflowCostCodeId": str(cc.id), "qboServiceItemId": "1"}]}},
        headers=auth_headers)
    assert r.status_code == 400 and "qboClassId" in r.json()["error"]["message"]
    for bad in ({"companyId": "nope", "mapping": {}},
                {"companyId": str(cid), "mapping": {"costCodeField": "Department"}},
                {"companyId": str(cid), "mapping": {"employeeMapping": [{"crewflowWorkerId": str(emp.id),
                                                                          "qboEmployeeId": "abc"}]}},
                {"companyId": str(cid), "mapping": {"mapStartEnd": "yes"}},
                {"companyId": str(cid), "mapping": {}, "extra": 1},
                {"companyId": str(cid), "mapping": {"costCodeMapping": [{"crewflowCostCodeId": str(cc.id)}]}}):
        r = await client.put(f"{API}/mapping", json=bad, headers=auth_headers)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["message"]
    assert await _profiles(sessionmaker, cid) == []


async def test_auth_and_company_checks(client, auth_headers, imported, make_token):
    cid = imported.company_id
    r = await client.get(f"{API}/mapping", params={"companyId": str(cid)})
    assert r.status_code == 401
    other = uuid.uuid4()
    r = await client.get(f"{API}/mapping", params={"companyId": str(other)}, headers=auth_headers)
    assert r.status_code == 403
    r = await client.get(f"{API}/mapping", params={"companyId": str(other)},
                         headers={"Authorization": f"Bearer {make_token(other)}"})
    assert r.status_code == 404
    worker_headers = {"Authorization": f"Bearer {make_token(cid, role='field_worker')}"}
    r = await client.put(f"{API}/mapping", json={"companyId": str(cid), "mapping": {}}, headers=worker_headers)
    assert r.status_code == 403
    r = await client.post(f"{API}/live-sync", json={"companyId": str(cid), "enabled": True}, headers=worker_headers)
    assert r.status_code == 403
    r = await client.get(f"{API}/mapping", params={"companyId": "x"}, headers=auth_headers)
    assert r.status_code == 422


async def test_profiles_create_list_activate(client, auth_headers, imported, sessionmaker):
    cid = str(imported.company_id)
    r = await client.post(f"{API}/mapping/profiles", json={"companyId": cid, "profileName": "Field"},
                          headers=auth_headers)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["active"] is True  # the company's first profile
    r = await client.post(f"{API}/mapping/profiles", json={"companyId": cid, "profileName": "Office",
                                                           "costCodeField": "Class", "copyFrom": first["profileId"]},
                          headers=auth_headers)
    second = r.json()
    assert r.status_code == 201 and second["active"] is False
    r = await client.post(f"{API}/mapping/profiles", json={"companyId": cid, "profileName": "field"},
                          headers=auth_headers)
    assert r.status_code == 409 and "already exists" in r.json()["error"]["message"]
    r = await client.post(f"{API}/mapping/profiles/{second['profileId']}/activate", json={"companyId": cid},
                          headers=auth_headers)
    assert r.status_code == 200 and r.json()["active"] is True
    listed = (await client.get(f"{API}/mapping/profiles", params={"companyId": cid}, headers=auth_headers)).json()
    assert {p["profileName"]: p["active"] for p in listed} == {"Field": False, "Office": True}
    r = await client.post(f"{API}/mapping/profiles/{uuid.uuid4()}/activate", json={"companyId": cid},
                          headers=auth_headers)
    assert r.status_code == 404
    r = await client.post(f"{API}/mapping/profiles", json={"companyId": cid, "profileName": "  "},
                          headers=auth_headers)
    assert r.status_code == 422
    got = (await client.get(f"{API}/mapping", params={"companyId": cid}, headers=auth_headers)).json()
    assert got["profileName"] == "Office" and got["costCodeField"] == "Class"


async def test_suggestions_email_name_fuzzy(client, auth_headers, imported, sandbox, sessionmaker):
    cid = imported.company_id
    emps = (await sandbox.get(f"/_sandbox/realms/{imported.realm_id}/entities/Employee")).json()["items"]
    # The sample names depend on the realm's number (the tests' order): take an active employee whose typo'd
    # name can only mean them (a first name of 5+ letters, so 4+ with the typo; a last name no other employee has).
    lasts = collections.Counter(e["DisplayName"].split(" ", 1)[1] for e in emps)
    e1 = emps[0]
    e2 = next(e for e in emps[1:] if e.get("Active") and len(e["DisplayName"].split(" ", 1)[0]) >= 5
              and lasts[e["DisplayName"].split(" ", 1)[1]] == 1)
    first, last = e2["DisplayName"].split(" ", 1)
    async with sessionmaker() as s:
        by_email = f.add_worker(s, cid, "Someone Else", e1["PrimaryEmailAddr"]["Address"].upper())
        fuzzy = f.add_worker(s, cid, f"{first[:-1]} {last}")  # a typo in the first name
        f.add_project(s, cid, "cool cars")
        await s.commit()
    r = await client.get(f"{API}/mapping/suggestions", params={"companyId": str(cid)}, headers=auth_headers)
    assert r.status_code == 200, r.text
    workers = {w["crewflowWorkerId"]: w for w in r.json()["workers"]}
    best = workers[str(by_email.id)]["suggestions"][0]
    assert best == {"qboEmployeeId": e1["Id"], "name": e1["DisplayName"], "email": e1["PrimaryEmailAddr"]["Address"],
                    "confidence": 1.0, "reason": "email", "linkedTo": e1["DisplayName"]}  # import linked it
    fz = workers[str(fuzzy.id)]["suggestions"][0]
    assert fz["qboEmployeeId"] == e2["Id"] and fz["reason"] == "fuzzy" and 0.7 < fz["confidence"] < 0.95
    projects = r.json()["projects"]
    assert projects[0]["suggestions"][0]["reason"] == "name" and projects[0]["suggestions"][0]["qboCustomerId"] == "1"


async def test_validation_report_and_samples(client, auth_headers, imported, sessionmaker, sandbox, services, queue):
    cid = imported.company_id
    emp3 = await _user(sessionmaker, cid, "3")
    cool = await _project(sessionmaker, cid, "1")
    async with sessionmaker() as s:
        lone = f.add_worker(s, cid, "Lone Worker")
        await s.flush()
        f.add_timecard(s, cid, lone, cool)
        f.add_timecard(s, cid, lone, cool, status="submitted")  # not approved: not counted
        await s.commit()
    await sandbox.post(f"/_sandbox/realms/{imported.realm_id}/entities/Employee", json={"Id": "3", "Active": False})
    from qbo_integration.directory import import_flow
    from qbo_integration.mapping.profiles import profile_targets

    await import_flow.run_import(sessionmaker, services.qbo, queue, cid, mapped=profile_targets)
    r = await client.get(f"{API}/mapping/validation", params={"companyId": str(cid)}, headers=auth_headers)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["valid"] is False
    assert [(u["type"], u["crewflowId"], u["timecards"], u["field"]) for u in rep["unmapped"]] == \
        [("worker", str(lone.id), 1, "EmployeeRef")]
    assert "Mapping → Workers" in rep["unmapped"][0]["fix"]
    assert [(i["crewflowId"], i["qboId"], i["state"]) for i in rep["inactive"]] == [(str(emp3.id), "3", "inactive")]
    orphans = (await client.get(f"{API}/directory/orphans", params={"companyId": str(cid)},
                                headers=auth_headers)).json()
    assert [(o["entityType"], o["qboId"], o["linkedTo"][0]["id"]) for o in orphans["orphans"]] == \
        [("Employee", "3", str(emp3.id))]
    samples = (await client.get(f"{API}/mapping/samples", params={"companyId": str(cid)}, headers=auth_headers)).json()
    by_field = {(x["crewflowField"], x["qboField"]): x for x in samples["fields"]}
    assert len(by_field[("Worker", "Employee")]["qbo"]) == 3 and by_field[("Worker", "Employee")]["crewflow"]
    assert by_field[("Clock in", "StartTime")]["qbo"] == ["2026-07-02T07:00:00-06:00"]


async def test_directory_import_route_and_status(client, auth_headers, imported, sessionmaker, services, queue):
    cid = str(imported.company_id)
    r = await client.post(f"{API}/directory/import", json={"companyId": cid, "mode": "full"}, headers=auth_headers)
    assert r.status_code == 202, r.text
    job_id = r.json()["jobId"]
    assert r.json()["status"] == "pending"
    queued = await queue.pool.zcard("qbo:queue")
    assert queued >= 1
    from qbo_integration.directory import tasks

    ctx = {"sessionmaker": sessionmaker, "services": services, "queue": queue}
    done = await tasks.import_directory(ctx, cid, job_id)
    assert done["status"] == "completed" and done["mode"] == "full" and done["changed"] is False
    again = await tasks.import_directory(ctx, cid, job_id)  # delivered twice: runs once
    assert again["status"] == "skipped"
    r = await client.get(f"{API}/directory/import/{job_id}", params={"companyId": cid}, headers=auth_headers)
    assert r.status_code == 200 and r.json()["status"] == "completed" and r.json()["qboCalls"] >= 5
    r = await client.get(f"{API}/directory/import/{uuid.uuid4()}", params={"companyId": cid}, headers=auth_headers)
    assert r.status_code == 404
    r = await client.post(f"{API}/directory/import", json={"companyId": cid, "mode": "everything"},
                          headers=auth_headers)
    assert r.status_code == 422
    async with sessionmaker() as s:
        n = (await s.execute(select(func.count()).select_from(User).where(User.company_id == imported.company_id)))
        assert n.scalar_one() > 0


async def test_saving_a_mapping_beside_a_sync_write_back_does_not_deadlock(client, auth_headers, imported,
                                                                           sessionmaker):
    """Operations campaign of 21c7029, seed 151 (lost 6): the admin's PUT mapping answered 500 "deadlock
    detected" after a switch, so the mapping was never saved and live sync never came back. The save
    marked the setup checklist's step, then locked the failed rows to re-queue them; a sync write-back
    holds its rows, then marks the checklist's first-sync step (jobs.side_effects). The save now takes
    the rows first."""
    import asyncio

    from sqlalchemy import text

    from qbo_integration.monitoring.setup import mark_step
    from qbo_integration.sync import outbox_repository
    from qbo_integration.sync.models import TimecardSyncRecord as Row

    cid = imported.company_id
    tid = uuid.uuid4()
    async with sessionmaker() as s:
        await mark_step(s, cid, "connected")  # the checklist's row exists, as after connecting
        s.add(Row(company_id=cid, timecard_id=tid, operation="create", state="failed", error_kind="mapping",
                  last_error="QuickBooks employee missing"))
        await s.commit()
    cool = await _project(sessionmaker, cid, "1")
    mapping = {"customerMapping": [{"crewflowProjectId": str(cool.id), "qboCustomerId": "4"}]}

    async def waiting_for_a_lock() -> bool:
        async with sessionmaker() as s:
            return bool((await s.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"))).scalar())

    async with sessionmaker() as round_:
        await outbox_repository.lock_rows(round_, cid, timecard_ids=[tid])  # a write-back holding the timecard's row
        save = asyncio.create_task(client.put(f"{API}/mapping", json={"companyId": str(cid), "mapping": mapping,
                                                                     "confirmDuplicates": True},
                                              headers=auth_headers))
        for _ in range(300):
            if await waiting_for_a_lock():
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the save never waited for the round's row")
        await mark_step(round_, cid, "first_timecard_synced")  # the write-back's side effects
        await round_.commit()
    r = await save
    assert r.status_code == 200, r.text
    assert r.json()["requeued"] == 1
