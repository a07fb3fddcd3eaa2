"""Directory import against the sandbox's sample company over HTTP: first, repeat, incremental (CDC)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from qbo_integration.core_platform.models import Project, User
from qbo_integration.directory import import_flow
from qbo_integration.directory.matching import normalise
from qbo_integration.directory.models import QboDirectoryRecord
from qbo_integration.mapping.profiles import profile_targets
from qbo_integration.monitoring.models import AuditLogEntry, SetupChecklist
from qbo_integration.sync.models import SyncJob


async def entities(sandbox, realm: str, entity: str) -> list[dict]:
    r = await sandbox.get(f"/_sandbox/realms/{realm}/entities/{entity}")
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def core_state(sessionmaker, company_id):
    async with sessionmaker() as s:
        users = (await s.execute(select(User).where(User.company_id == company_id))).scalars().all()
        projects = (await s.execute(select(Project).where(Project.company_id == company_id))).scalars().all()
        return ({u.id: (u.name, u.email, dict(u.external_ids), u.updated_at) for u in users},
                {p.id: (p.name, p.status, dict(p.external_ids), p.updated_at) for p in projects})


async def run(sessionmaker, services, queue, company_id, **kw):
    return await import_flow.run_import(sessionmaker, services.qbo, queue, company_id, mapped=profile_targets, **kw)


async def test_first_import_then_repeat_then_incremental_via_cdc(sessionmaker, services, queue, connected_company,
                                                                 sandbox):
    cc, realm = connected_company, connected_company.realm_id
    employees = await entities(sandbox, realm, "Employee")
    customers = await entities(sandbox, realm, "Customer")
    active_emps = [e for e in employees if e.get("Active") is not False]
    active_custs = [c for c in customers if c.get("Active") is not False]
    assert any(c.get("Job") for c in active_custs), "sample has sub-customers/jobs"
    emp1 = next(e for e in employees if e["Id"] == "1")
    # A Core user that already exists with employee 1's email (different case, stray spaces).
    async with sessionmaker() as s:
        existing = User(id=uuid.uuid4(), company_id=cc.company_id, name="Old Name",
                        email="  " + emp1["PrimaryEmailAddr"]["Address"].upper(), role="supervisor", external_ids={})
        s.add(existing)
        await s.commit()
    log_start = (await sandbox.get(f"/_sandbox/realms/{realm}/log")).json()

    first = await run(sessionmaker, services, queue, cc.company_id)
    assert first["status"] == "completed" and first["mode"] == "full"
    assert first["users"] == {"created": len(active_emps) - 1, "updated": 1, "matchedByEmail": 1, "matchedByName": 0,
                              "proposed": 0}
    assert first["projects"]["created"] == len(active_custs)
    users, projects = await core_state(sessionmaker, cc.company_id)
    assert len(users) == len(active_emps)  # the existing user was updated, not duplicated
    assert users[existing.id][0] == emp1["DisplayName"] and users[existing.id][2] == {"qbo": "1"}
    assert {u[2]["qbo"] for u in users.values()} == {e["Id"] for e in active_emps}
    assert {p[2]["qbo"] for p in projects.values()} == {c["Id"] for c in active_custs}
    assert {p[0] for p in projects.values()} == {c["DisplayName"] for c in active_custs}
    async with sessionmaker() as s:
        # the existing user keeps its role; imported ones are field workers
        roles = dict((await s.execute(select(User.id, User.role).where(User.company_id == cc.company_id))).all())
        assert roles[existing.id] == "supervisor" and set(roles.values()) == {"supervisor", "field_worker"}
        recs = (await s.execute(select(QboDirectoryRecord.entity_type, QboDirectoryRecord.qbo_id)
                                .where(QboDirectoryRecord.company_id == cc.company_id))).all()
        by_type = {t: {i for tt, i in recs if tt == t} for t in ("Employee", "Customer", "Item", "Class")}
        assert by_type["Employee"] == {e["Id"] for e in employees}  # inactive ones mirrored too
        assert by_type["Item"] and by_type["Class"]
        job = await s.get(SyncJob, uuid.UUID(first["jobId"]))
        assert (job.kind, job.status, job.trigger) == ("directory_import", "completed", "connect")
        assert job.qbo_calls >= 5
        audit_rows = (await s.execute(select(AuditLogEntry).where(AuditLogEntry.job_id == job.id))).scalars().all()
        assert sorted(a.action for a in audit_rows) == ["directory_import", "directory_linked"]
        linked = next(a for a in audit_rows if a.action == "directory_linked")  # the email match, audited
        assert (linked.worker_id, linked.qbo_id, linked.request_payload["reason"]) == (existing.id, "1", "email")
        checklist = await s.get(SetupChecklist, cc.company_id)
        assert checklist is not None and checklist.directory_imported_at is not None

    # Second import: nothing changes.
    before = await core_state(sessionmaker, cc.company_id)
    second = await run(sessionmaker, services, queue, cc.company_id)
    assert second["mode"] == "cdc" and second["changed"] is False
    assert second["users"]["created"] == second["users"]["updated"] == 0
    assert await core_state(sessionmaker, cc.company_id) == before
    full_again = await run(sessionmaker, services, queue, cc.company_id)  # and a forced listing agrees
    assert full_again["changed"] is False

    # Rename, deactivate, add in QBO; the next incremental import (CDC) picks it up.
    admin = f"/_sandbox/realms/{realm}/entities"
    await sandbox.post(f"{admin}/Employee", json={"Id": "2", "DisplayName": "Renamed Person"})
    await sandbox.post(f"{admin}/Employee", json={"Id": "3", "Active": False})
    new_emp = (await sandbox.post(f"{admin}/Employee", json={
        "DisplayName": "Brand New", "GivenName": "Brand", "FamilyName": "New", "Active": True,
        "PrimaryEmailAddr": {"Address": "brand.new@example.com"}})).json()
    await sandbox.post(f"{admin}/Customer", json={"Id": "1", "DisplayName": "Cool Cars Renamed"})
    victim = next(c for c in active_custs if c["Id"] != "1")
    await sandbox.post(f"{admin}/Customer", json={"Id": victim["Id"], "Active": False})
    third = await run(sessionmaker, services, queue, cc.company_id)
    assert third["mode"] == "cdc"
    assert third["users"] == {"created": 1, "updated": 1, "matchedByEmail": 0, "matchedByName": 0, "proposed": 0}
    assert third["projects"]["updated"] == 1
    orphaned = {(o["entityType"], o["qboId"]) for o in third["newlyOrphaned"]}
    assert orphaned == {("Employee", "3"), ("Customer", victim["Id"])}
    users, projects = await core_state(sessionmaker, cc.company_id)
    by_qbo = {u[2]["qbo"]: u for u in users.values()}
    assert by_qbo["2"][0] == "Renamed Person"
    assert by_qbo[new_emp["Id"]][1] == "brand.new@example.com"
    assert "3" in by_qbo  # never deleted
    assert "Cool Cars Renamed" in {p[0] for p in projects.values()}
    assert len(projects) == len(active_custs)

    # Nothing was written to QBO by any import.
    log = (await sandbox.get(f"/_sandbox/realms/{realm}/log")).json()
    assert len(log) > len(log_start)
    assert not [e for e in log if e["write"]]


async def test_lastupdated_query_fallback_past_cdc_lookback(sessionmaker, services, queue, connected_company,
                                                            sandbox):
    cc = connected_company
    first = await run(sessionmaker, services, queue, cc.company_id)
    # Pretend the last import is 40 days old: CDC would refuse, so the importer queries by LastUpdatedTime.
    async with sessionmaker() as s:
        job = await s.get(SyncJob, uuid.UUID(first["jobId"]))
        job.results = {**job.results, "cursor": (datetime.now(UTC) - timedelta(days=40)).isoformat()}
        await s.commit()
    await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/Employee", json={"Id": "4", "DisplayName": "Four"})
    again = await run(sessionmaker, services, queue, cc.company_id)
    assert again["mode"] == "since"
    assert again["users"]["updated"] == 1
    log = (await sandbox.get(f"/_sandbox/realms/{cc.realm_id}/log")).json()
    assert not [e for e in log if "cdc" in e["path"] and e["status"] >= 400]


async def test_project_matched_by_normalised_name(sessionmaker, services, queue, connected_company):
    cc = connected_company
    async with sessionmaker() as s:
        p = Project(id=uuid.uuid4(), company_id=cc.company_id, name="  cool   CARS ", status="active", external_ids={})
        s.add(p)
        await s.commit()
    result = await run(sessionmaker, services, queue, cc.company_id)
    assert result["projects"]["matchedByName"] == 1
    async with sessionmaker() as s:
        row = await s.get(Project, p.id)
        assert row.external_ids == {"qbo": "1"} and row.name == "Cool Cars"
    assert normalise("  cool   CARS ") == normalise("Cool Cars")


async def test_import_when_not_connected_fails_the_job(sessionmaker, services, queue, connected_company):
    cc = connected_company
    async with sessionmaker() as s:
        from qbo_integration.connections.models import Integration

        integ = await s.get(Integration, cc.integration_id)
        integ.connection_status = "disconnected"
        await s.commit()
    assert (await run(sessionmaker, services, queue, cc.company_id))["status"] == "skipped"
    async with sessionmaker() as s:
        job = (await s.execute(select(SyncJob).where(SyncJob.company_id == cc.company_id))).scalar_one()
        assert job.status == "failed" and "not connected" in job.errors[0]["message"]
