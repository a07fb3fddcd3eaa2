"""The directory import links, never duplicates: a QuickBooks employee or customer is linked to an existing
CrewFlow worker or project by the wizard's matching rule when exactly one matches with bulk-accept
confidence, proposed when the match is less certain, and created only when nothing in CrewFlow resembles it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from qbo_integration.core_platform.models import Project, User
from qbo_integration.directory import import_flow, importer
from qbo_integration.mapping.profiles import profile_targets
from qbo_integration.monitoring.models import AuditLogEntry
from qbo_integration.qbo.models import QboEntity, entity_model
from tests.mapping import factories as f


def employee(qbo_id: str, name: str, email: str | None = None) -> QboEntity:
    return entity_model("Employee").model_validate(
        {"Id": qbo_id, "DisplayName": name, "Active": True, **({"PrimaryEmailAddr": {"Address": email}} if email else {})})


def customer(qbo_id: str, name: str, parent: tuple[str, str] | None = None) -> QboEntity:
    body: dict[str, Any] = {"Id": qbo_id, "DisplayName": name, "FullyQualifiedName": name, "Active": True}
    if parent:
        body.update({"FullyQualifiedName": f"{parent[1]}:{name}", "ParentRef": {"value": parent[0]}, "Job": True})
    return entity_model("Customer").model_validate(body)


async def apply(sessionmaker, company_id: uuid.UUID, employees=(), customers=()) -> dict[str, Any]:
    async with sessionmaker() as s:
        counts = await importer.apply(s, company_id, importer.Fetched(
            "full", {"Employee": list(employees), "Customer": list(customers)}, complete=True), profile_targets)
        await s.commit()
    return counts.as_dict()


async def users(sessionmaker, company_id) -> list[User]:
    async with sessionmaker() as s:
        return list((await s.execute(select(User).where(User.company_id == company_id).order_by(User.name))).scalars())


async def projects(sessionmaker, company_id) -> list[Project]:
    async with sessionmaker() as s:
        return list((await s.execute(select(Project).where(Project.company_id == company_id)
                                     .order_by(Project.name))).scalars())


async def proposals(sessionmaker, company_id) -> dict[str, Any]:
    from qbo_integration.directory.models import DirectoryProposal

    async with sessionmaker() as s:
        rows = (await s.execute(select(DirectoryProposal).where(DirectoryProposal.company_id == company_id))).scalars()
        return {p.qbo_id: p for p in rows}


async def test_the_demos_TOM_BENNETT_is_linked_and_no_second_Tom_Bennett_is_made(sessionmaker, services, queue,
                                                                               connected_company, sandbox):
    """Issue 29: the demo's CrewFlow worker "TOM BENNETT" (no email, approved timecards) and QuickBooks'
    "Tom Bennett". The import matched users by email only and created a new CrewFlow "Tom Bennett"."""
    cc = connected_company
    admin = f"/_sandbox/realms/{cc.realm_id}/entities/Employee"
    for e in (await sandbox.get(admin)).json()["items"]:  # nobody else in the sample realm is a Tom Bennett
        if e["DisplayName"].casefold() == "tom bennett" and e["Id"] != "1":
            await sandbox.post(admin, json={"Id": e["Id"], "DisplayName": f"Other Person {e['Id']}"})
    await sandbox.post(admin, json={"Id": "1", "DisplayName": "Tom Bennett", "GivenName": "Tom", "FamilyName": "Bennett"})
    async with sessionmaker() as s:
        tom = f.add_worker(s, cc.company_id, "TOM BENNETT")
        job = f.add_project(s, cc.company_id, "Riverside Lofts")
        await s.flush()
        f.add_timecard(s, cc.company_id, tom, job)
        await s.commit()

    result = await import_flow.run_import(sessionmaker, services.qbo, queue, cc.company_id, mapped=profile_targets)

    assert result["status"] == "completed", result
    toms = [u for u in await users(sessionmaker, cc.company_id) if u.name.casefold() == "tom bennett"]
    assert [u.id for u in toms] == [tom.id], "the import made a second Tom Bennett"
    assert toms[0].external_ids == {"qbo": "1"}
    assert result["users"]["matchedByName"] == 1
    async with sessionmaker() as s:
        audit = (await s.execute(select(AuditLogEntry).where(AuditLogEntry.action == "directory_linked",
                                                             AuditLogEntry.worker_id == tom.id))).scalar_one()
    assert (audit.qbo_id, audit.request_payload["reason"], audit.request_payload["crewflowName"]) == \
        ("1", "name", "TOM BENNETT")
    # and once linked, the next import finds it by its QuickBooks id: nothing new
    again = await import_flow.run_import(sessionmaker, services.qbo, queue, cc.company_id, mapped=profile_targets)
    assert again["users"]["created"] == 0 and again["users"]["matchedByName"] == 0


async def test_nicknames_last_first_and_middle_initials_link_like_the_wizard(sessionmaker, company):
    async with sessionmaker() as s:
        bob = f.add_worker(s, company.id, "Bob Smith")
        reyes = f.add_worker(s, company.id, "Reyes, Jack")
        await s.commit()
    result = await apply(sessionmaker, company.id, [employee("1", "Robert T. Smith"), employee("2", "Jack Reyes"),
                                                     employee("3", "Ann Oak", "ann@oak.test")])
    assert result["users"] == {"created": 1, "updated": 2, "matchedByEmail": 0, "matchedByName": 2, "proposed": 0}
    by_qbo = {u.external_ids.get("qbo"): u for u in await users(sessionmaker, company.id)}
    assert (by_qbo["1"].id, by_qbo["2"].id) == (bob.id, reyes.id)
    assert by_qbo["3"].name == "Ann Oak"  # nothing in CrewFlow resembles her: created (FR-3)


async def test_two_quickbooks_records_for_one_name_make_a_proposal_not_a_link(sessionmaker, company):
    async with sessionmaker() as s:
        maria = f.add_worker(s, company.id, "Maria Garcia")  # no email: either of them could be her
        await s.commit()
    result = await apply(sessionmaker, company.id, [employee("1", "Maria Garcia", "maria@a.test"),
                                                     employee("2", "maria garcia", "mgarcia@b.test")])
    assert result["users"]["created"] == 0 and result["users"]["matchedByName"] == 0
    assert result["users"]["proposed"] == 2
    assert [(u.id, u.external_ids) for u in await users(sessionmaker, company.id)] == [(maria.id, {})]
    props = await proposals(sessionmaker, company.id)
    assert {q: [c["crewflowId"] for c in p.candidates] for q, p in props.items()} == \
        {"1": [str(maria.id)], "2": [str(maria.id)]}
    assert {p.status for p in props.values()} == {"open"}


async def test_two_crewflow_workers_for_one_quickbooks_employee_make_a_proposal(sessionmaker, company):
    async with sessionmaker() as s:
        shouty = f.add_worker(s, company.id, "TOM BENNETT")
        other = f.add_worker(s, company.id, "Tom  Bennett")
        await s.commit()
    result = await apply(sessionmaker, company.id, [employee("7", "Tom Bennett")])
    assert (result["users"]["created"], result["users"]["matchedByName"], result["users"]["proposed"]) == (0, 0, 1)
    assert all(not u.external_ids for u in await users(sessionmaker, company.id))
    assert {c["crewflowId"] for c in (await proposals(sessionmaker, company.id))["7"].candidates} == \
        {str(shouty.id), str(other.id)}


async def test_riverside_lofts_and_its_phase_2_each_find_their_own_project(sessionmaker, company):
    async with sessionmaker() as s:
        lofts = f.add_project(s, company.id, "Riverside Lofts")
        phase2 = f.add_project(s, company.id, "Riverside Lofts - Phase 2")
        await s.commit()
    result = await apply(sessionmaker, company.id, customers=[
        customer("10", "Riverside Lofts"), customer("11", "Phase 2", parent=("10", "Riverside Lofts"))])
    assert result["projects"] == {"created": 0, "updated": 2, "matchedByName": 2, "proposed": 0}
    by_qbo = {p.external_ids.get("qbo"): p.id for p in await projects(sessionmaker, company.id)}
    assert by_qbo == {"10": lofts.id, "11": phase2.id}


async def test_the_parent_customer_is_never_linked_to_the_phase_2_project(sessionmaker, company):
    """CrewFlow knows only "Riverside Lofts - Phase 2": QuickBooks' job Riverside Lofts:Phase 2 is it. The
    parent customer Riverside Lofts resembled only that project, now linked to its job: it becomes a
    project of its own (FR-4), never a second link to Phase 2."""
    async with sessionmaker() as s:
        phase2 = f.add_project(s, company.id, "Riverside Lofts - Phase 2")
        await s.commit()
    result = await apply(sessionmaker, company.id, customers=[
        customer("10", "Riverside Lofts"), customer("11", "Phase 2", parent=("10", "Riverside Lofts"))])
    assert (result["projects"]["created"], result["projects"]["matchedByName"]) == (1, 1)
    rows = await projects(sessionmaker, company.id)
    assert {p.external_ids["qbo"]: p.id for p in rows}["11"] == phase2.id
    made = next(p for p in rows if p.id != phase2.id)
    assert (made.name, made.external_ids) == ("Riverside Lofts", {"qbo": "10"})


async def test_a_project_that_only_resembles_the_customer_is_asked_about(sessionmaker, company):
    """QuickBooks has "Riverside Lofts - Phase 2" as a customer of its own; CrewFlow has "Riverside Lofts":
    similar, not the same. Asked about, not linked, and no project made behind the admin's back."""
    async with sessionmaker() as s:
        lofts = f.add_project(s, company.id, "Riverside Lofts")
        await s.commit()
    result = await apply(sessionmaker, company.id, customers=[customer("12", "Riverside Lofts Phase 2")])
    assert (result["projects"]["created"], result["projects"]["matchedByName"], result["projects"]["proposed"]) == \
        (0, 0, 1)
    assert [(p.id, p.external_ids) for p in await projects(sessionmaker, company.id)] == [(lofts.id, {})]
    asked = (await proposals(sessionmaker, company.id))["12"]
    assert [c["crewflowId"] for c in asked.candidates] == [str(lofts.id)] and asked.candidates[0]["confidence"] < 0.9


async def test_a_skipped_proposal_is_left_alone_and_an_open_one_is_refreshed(sessionmaker, company):
    async with sessionmaker() as s:
        maria = f.add_worker(s, company.id, "Maria Garcia")
        await s.commit()
    await apply(sessionmaker, company.id, [employee("1", "Maria Garcia", "maria@a.test"),
                                           employee("2", "Maria Garcia", "mgarcia@b.test")])
    from qbo_integration.directory.models import DirectoryProposal

    async with sessionmaker() as s:
        row = (await s.execute(select(DirectoryProposal).where(DirectoryProposal.qbo_id == "2"))).scalar_one()
        row.status = "skipped"
        await s.commit()
    again = await apply(sessionmaker, company.id, [employee("1", "Maria Garcia", "maria@a.test"),
                                                    employee("2", "Maria Garcia", "mgarcia@b.test")])
    assert (again["users"]["created"], again["users"]["proposed"]) == (0, 1)  # 2: skipped, never created
    props = await proposals(sessionmaker, company.id)
    assert (props["1"].status, props["2"].status) == ("open", "skipped")
    assert [u.id for u in await users(sessionmaker, company.id)] == [maria.id]


async def test_a_record_the_mapping_profile_points_at_is_not_created(sessionmaker, company):
    async with sessionmaker() as s:
        jay = f.add_worker(s, company.id, "Jay Crew-Lead")
        f.add_profile(s, company.id, {"employeeMapping": {str(jay.id): "5"}})
        await s.commit()
    result = await apply(sessionmaker, company.id, [employee("5", "Jason Lead")])
    assert result["users"]["created"] == 0 and result["users"]["proposed"] == 0
    assert [u.id for u in await users(sessionmaker, company.id)] == [jay.id]


async def test_an_open_proposal_is_settled_when_a_later_import_links_its_record(sessionmaker, company):
    async with sessionmaker() as s:
        maria = f.add_worker(s, company.id, "Maria Garcia")
        await s.commit()
    emps = [employee("1", "Maria Garcia", "maria@a.test"), employee("2", "Maria Garcia", "mgarcia@b.test")]
    await apply(sessionmaker, company.id, emps)
    async with sessionmaker() as s:  # CrewFlow learns her email: the next import links her by it
        (await s.get(User, maria.id)).email = "MARIA@a.test"
        await s.commit()
    again = await apply(sessionmaker, company.id, emps)
    assert (again["users"]["matchedByEmail"], again["users"]["created"], again["users"]["proposed"]) == (1, 0, 1)
    props = await proposals(sessionmaker, company.id)
    assert (props["1"].status, props["1"].crewflow_id, props["1"].decided_by) == ("linked", maria.id, "system:import")
    assert (props["2"].status, props["2"].candidates) == ("open", [])  # still asked: link, create or skip
