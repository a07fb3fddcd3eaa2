"""The import's proposals over HTTP (list; link / create / skip) and merging back a record the import made
twice: bad input is a 4xx with nothing changed, a repeated decision is a 200 that changes nothing, a
different one a 409, concurrent decisions leave exactly one, and a worker with timecards is never retired."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from qbo_integration.core_platform.models import User
from qbo_integration.monitoring.models import AuditLogEntry
from tests.api.helpers import db_state, error_of
from tests.mapping import factories as f
from tests.mapping.test_import_links import apply, employee

API = "/api/v1/integrations/quickbooks"


async def _maria(sessionmaker, cid):
    """CrewFlow's Maria Garcia (no email) and two QuickBooks Maria Garcias: two open proposals."""
    async with sessionmaker() as s:
        maria = f.add_worker(s, cid, "Maria Garcia")
        await s.commit()
    await apply(sessionmaker, cid, [employee("1", "Maria Garcia", "maria@a.test"),
                                    employee("2", "Maria Garcia", "mgarcia@b.test")])
    return maria


async def _listed(client, headers, cid, **params) -> dict:
    r = await client.get(f"{API}/directory/proposals", params={"companyId": str(cid), **params}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _decide(client, headers, cid, proposal_id, decision, crewflow_id=None):
    body = {"companyId": str(cid), "decision": decision}
    if crewflow_id is not None:
        body["crewflowId"] = str(crewflow_id)
    return await client.post(f"{API}/directory/proposals/{proposal_id}/decision", json=body, headers=headers)


async def _user(sessionmaker, user_id) -> User:
    async with sessionmaker() as s:
        return await s.get(User, user_id)


async def test_proposals_are_listed_with_their_question_and_answered(client, auth_headers, connected_company,
                                                                    sessionmaker):
    cid = connected_company.company_id
    maria = await _maria(sessionmaker, cid)
    listed = await _listed(client, auth_headers, cid)
    assert [(p["qboId"], p["status"]) for p in listed["proposals"]] == [("1", "open"), ("2", "open")]
    first = listed["proposals"][0]
    assert first["question"] == "QuickBooks has Maria Garcia. Is this Maria Garcia?"
    assert [c["crewflowId"] for c in first["candidates"]] == [str(maria.id)] and first["qboEmail"] == "maria@a.test"
    second = listed["proposals"][1]

    r = await _decide(client, auth_headers, cid, first["proposalId"], "link", maria.id)
    assert r.status_code == 200, r.text
    assert r.json()["changed"] is True and r.json()["proposal"]["status"] == "linked"
    assert "Linked" in r.json()["message"]
    row = await _user(sessionmaker, maria.id)
    assert (row.external_ids, row.email) == ({"qbo": "1"}, "maria@a.test")

    # the other one: Maria is taken now, so it is no longer her; a new worker is made for it
    listed = await _listed(client, auth_headers, cid)
    assert [p["qboId"] for p in listed["proposals"]] == ["2"] and listed["proposals"][0]["candidates"] == []
    r = await _decide(client, auth_headers, cid, second["proposalId"], "create")
    assert r.status_code == 200, r.text
    made = await _user(sessionmaker, uuid.UUID(r.json()["proposal"]["crewflowId"]))
    assert (made.name, made.email, made.external_ids, made.role) == \
        ("Maria Garcia", "mgarcia@b.test", {"qbo": "2"}, "field_worker")
    assert (await _listed(client, auth_headers, cid))["proposals"] == []
    everything = await _listed(client, auth_headers, cid, status="all")
    assert [p["status"] for p in everything["proposals"]] == ["linked", "created"]
    async with sessionmaker() as s:
        actions = (await s.execute(select(AuditLogEntry.action, AuditLogEntry.worker_id, AuditLogEntry.actor)
                                   .where(AuditLogEntry.action.like("directory_proposal%"))
                                   .order_by(AuditLogEntry.created_at))).all()
    assert [(a, w) for a, w, _ in actions] == [("directory_proposal_linked", maria.id),
                                               ("directory_proposal_created", made.id)]
    assert {a for _, _, a in actions} == {"user-1"}


async def test_a_repeated_decision_is_a_200_and_a_different_one_a_409(client, auth_headers, connected_company,
                                                                      sessionmaker):
    cid = connected_company.company_id
    maria = await _maria(sessionmaker, cid)
    pid = (await _listed(client, auth_headers, cid))["proposals"][0]["proposalId"]
    assert (await _decide(client, auth_headers, cid, pid, "skip")).status_code == 200
    before = await db_state(sessionmaker)
    again = await _decide(client, auth_headers, cid, pid, "skip")
    assert again.status_code == 200 and again.json()["changed"] is False
    other = await _decide(client, auth_headers, cid, pid, "link", maria.id)
    assert other.status_code == 409 and error_of(other)["code"] == "already_decided"
    assert "already answered: skipped by user-1" in error_of(other)["message"]
    assert await db_state(sessionmaker) == before


async def test_bad_decisions_are_4xx_and_change_nothing(client, auth_headers, connected_company, sessionmaker,
                                                        make_token):
    cid = connected_company.company_id
    maria = await _maria(sessionmaker, cid)
    async with sessionmaker() as s:
        other_company = await s.get(User, maria.id)
        linked = f.add_worker(s, cid, "Linked Lee", qbo="77")
        gone = f.add_worker(s, cid, "Gone Gus")
        gone.active = False
        await s.commit()
    pid = (await _listed(client, auth_headers, cid))["proposals"][0]["proposalId"]
    before = await db_state(sessionmaker)
    cases = [
        ({"decision": "link"}, 422),  # link needs the worker
        ({"decision": "skip", "crewflowId": str(maria.id)}, 422),  # only link takes one
        ({"decision": "merge"}, 422),
        ({"decision": "link", "crewflowId": "not-a-uuid"}, 422),
        ({"decision": "link", "crewflowId": str(uuid.uuid4())}, 404),  # not this company's worker
        ({"decision": "link", "crewflowId": str(linked.id)}, 409),  # linked to another QuickBooks employee
        ({"decision": "link", "crewflowId": str(gone.id)}, 409),  # inactive
    ]
    for extra, want in cases:
        r = await client.post(f"{API}/directory/proposals/{pid}/decision", json={"companyId": str(cid), **extra},
                              headers=auth_headers)
        assert r.status_code == want, (extra, r.text)
        error_of(r)
    r = await _decide(client, auth_headers, cid, uuid.uuid4(), "skip")
    assert r.status_code == 404 and "Unknown proposal" in error_of(r)["message"]
    supervisor = {"Authorization": f"Bearer {make_token(cid, role='supervisor')}"}
    assert (await _decide(client, supervisor, cid, pid, "skip")).status_code == 403
    assert await db_state(sessionmaker) == before
    assert other_company.external_ids == {}


async def test_concurrent_decisions_on_one_proposal_leave_exactly_one(client, auth_headers, connected_company,
                                                                      sessionmaker):
    cid = connected_company.company_id
    maria = await _maria(sessionmaker, cid)
    async with sessionmaker() as s:
        namesake = f.add_worker(s, cid, "María García")
        await s.commit()
    pid = (await _listed(client, auth_headers, cid))["proposals"][0]["proposalId"]
    answers = [("link", maria.id), ("link", namesake.id), ("create", None), ("skip", None)] * 3
    results = await asyncio.gather(*(_decide(client, auth_headers, cid, pid, d, w) for d, w in answers))
    codes = [r.status_code for r in results]
    assert set(codes) <= {200, 409}, [r.text for r in results]
    winners = [r.json() for r in results if r.status_code == 200 and r.json()["changed"]]
    assert len(winners) == 1, codes
    won = winners[0]["proposal"]
    repeats = [r for r in results if r.status_code == 200 and not r.json()["changed"]]
    assert all(r.json()["proposal"]["status"] == won["status"] for r in repeats)
    assert all(error_of(r)["code"] == "already_decided" for r in results if r.status_code == 409)
    async with sessionmaker() as s:
        holders = (await s.execute(select(func.count()).select_from(User).where(
            User.company_id == cid, User.external_ids["qbo"].astext == "1"))).scalar_one()
        audits = (await s.execute(select(func.count()).select_from(AuditLogEntry).where(
            AuditLogEntry.action.like("directory_proposal%")))).scalar_one()
    assert holders == (0 if won["status"] == "skipped" else 1) and audits == 1


# ------------------------------------------------------------------------------------------ merge-back
async def _ghost(sessionmaker, cid, *, ghost_timecards: int = 0):
    """The state the old import left: QuickBooks' Tom Bennett (#5) linked to a CrewFlow "Tom Bennett" it
    made, beside the real "TOM BENNETT" who owns approved timecards."""
    async with sessionmaker() as s:
        f.add_record(s, cid, "Employee", "5", "Tom Bennett", email="tom.bennett@example.com")
        tom = f.add_worker(s, cid, "TOM BENNETT")
        ghost = f.add_worker(s, cid, "Tom Bennett", "tom.bennett@example.com", qbo="5")
        job = f.add_project(s, cid, "Riverside Lofts")
        await s.flush()
        f.add_timecard(s, cid, tom, job)
        for _ in range(ghost_timecards):
            f.add_timecard(s, cid, ghost, job)
        await s.commit()
    return tom, ghost


async def _merge(client, headers, cid, from_id, into_id, entity="Employee"):
    return await client.post(f"{API}/directory/merge", headers=headers, json={
        "companyId": str(cid), "entityType": entity, "fromId": str(from_id), "intoId": str(into_id)})


async def test_merge_back_links_the_right_worker_and_deactivates_the_empty_one(client, auth_headers,
                                                                               connected_company, sessionmaker):
    cid = connected_company.company_id
    tom, ghost = await _ghost(sessionmaker, cid)
    offers = (await _listed(client, auth_headers, cid))["merges"]
    assert [(o["fromId"], o["intoId"], o["qboId"]) for o in offers] == [(str(ghost.id), str(tom.id), "5")]
    assert "with no timecards" in offers[0]["question"] and "Is it TOM BENNETT?" in offers[0]["question"]

    r = await _merge(client, auth_headers, cid, ghost.id, tom.id)
    assert r.status_code == 200, r.text
    assert r.json()["changed"] is True and "Tom Bennett is inactive" in r.json()["message"]
    kept, retired = await _user(sessionmaker, tom.id), await _user(sessionmaker, ghost.id)
    assert (kept.external_ids, kept.active, kept.email) == ({"qbo": "5"}, True, "tom.bennett@example.com")
    assert (retired.external_ids, retired.active) == ({}, False)  # deactivated, never deleted
    assert (await _listed(client, auth_headers, cid))["merges"] == []
    async with sessionmaker() as s:
        audit = (await s.execute(select(AuditLogEntry).where(AuditLogEntry.action == "directory_merged"))).scalar_one()
    assert (audit.worker_id, audit.qbo_id, audit.request_payload["fromId"]) == (tom.id, "5", str(ghost.id))

    before = await db_state(sessionmaker)
    again = await _merge(client, auth_headers, cid, ghost.id, tom.id)
    assert again.status_code == 200 and again.json()["changed"] is False
    assert await db_state(sessionmaker) == before


async def test_merge_back_refuses_to_retire_a_worker_with_timecards(client, auth_headers, connected_company,
                                                                   sessionmaker):
    cid = connected_company.company_id
    tom, ghost = await _ghost(sessionmaker, cid, ghost_timecards=2)
    assert (await _listed(client, auth_headers, cid))["merges"] == []  # not offered either
    before = await db_state(sessionmaker)
    r = await _merge(client, auth_headers, cid, ghost.id, tom.id)
    assert r.status_code == 409
    err = error_of(r)
    assert err["code"] == "has_timecards" and "Tom Bennett has 2 timecard(s)" in err["message"]
    assert await db_state(sessionmaker) == before
    row = await _user(sessionmaker, ghost.id)
    assert (row.active, row.external_ids) == (True, {"qbo": "5"})


async def test_bad_merges_are_4xx_and_change_nothing(client, auth_headers, connected_company, sessionmaker):
    cid = connected_company.company_id
    tom, ghost = await _ghost(sessionmaker, cid)
    async with sessionmaker() as s:
        other = f.add_worker(s, cid, "Ann Oak", qbo="9")
        await s.commit()
    before = await db_state(sessionmaker)
    for (src, dest, entity), want, code in [
        ((ghost.id, ghost.id, "Employee"), 422, "invalid_input"),
        ((ghost.id, uuid.uuid4(), "Employee"), 404, "not_found"),
        ((ghost.id, tom.id, "Customer"), 404, "not_found"),  # they are workers, not projects
        ((tom.id, ghost.id, "Employee"), 409, "not_linked"),  # TOM BENNETT holds no QuickBooks link
        ((ghost.id, other.id, "Employee"), 409, "already_linked"),
    ]:
        r = await _merge(client, auth_headers, cid, src, dest, entity)
        assert (r.status_code, error_of(r)["code"]) == (want, code), r.text
    bad = await client.post(f"{API}/directory/merge", headers=auth_headers, json={
        "companyId": str(cid), "entityType": "Vendor", "fromId": str(ghost.id), "intoId": str(tom.id)})
    assert bad.status_code == 422
    assert await db_state(sessionmaker) == before


async def test_concurrent_merges_move_the_link_once(client, auth_headers, connected_company, sessionmaker):
    cid = connected_company.company_id
    tom, ghost = await _ghost(sessionmaker, cid)
    results = await asyncio.gather(*(_merge(client, auth_headers, cid, ghost.id, tom.id) for _ in range(6)))
    assert [r.status_code for r in results] == [200] * 6, [r.text for r in results]
    assert sum(r.json()["changed"] for r in results) == 1
    async with sessionmaker() as s:
        n = (await s.execute(select(func.count()).select_from(AuditLogEntry)
                             .where(AuditLogEntry.action == "directory_merged"))).scalar_one()
    assert n == 1 and (await _user(sessionmaker, tom.id)).external_ids == {"qbo": "5"}


async def test_a_question_whose_record_was_linked_by_hand_is_not_asked(client, auth_headers, connected_company,
                                                                       sessionmaker):
    cid = connected_company.company_id
    await _maria(sessionmaker, cid)
    async with sessionmaker() as s:
        f.add_worker(s, cid, "Maria G.", qbo="2")  # someone linked QuickBooks' #2 in CrewFlow itself
        await s.commit()
    assert [p["qboId"] for p in (await _listed(client, auth_headers, cid))["proposals"]] == ["1"]


async def test_a_switch_to_another_quickbooks_company_sets_the_proposals_aside(connected_company, sessionmaker):
    """A proposal names the old company's record ids: kept for audit, never applied to the new company's
    employee with the same id (a skipped #2 there would leave the new #2 alone for ever)."""
    from qbo_integration.directory.models import DirectoryProposal
    from qbo_integration.realms.models import RealmArchive
    from qbo_integration.realms.switch import switch_realm

    cid = connected_company.company_id
    await _maria(sessionmaker, cid)
    async with sessionmaker() as s:
        counts = await switch_realm(s, integration_id=connected_company.integration_id, company_id=cid,
                                    old_realm=connected_company.realm_id, new_realm="123", actor="user-1")
        await s.commit()
    assert (counts["directoryRecords"], counts["directoryProposals"]) == (2, 2)
    async with sessionmaker() as s:
        assert (await s.execute(select(DirectoryProposal).where(DirectoryProposal.company_id == cid))).first() is None
        refs = (await s.execute(select(RealmArchive.ref).where(RealmArchive.kind == "directory_proposal"))).scalars()
        assert sorted(refs) == ["Employee:1", "Employee:2"]
