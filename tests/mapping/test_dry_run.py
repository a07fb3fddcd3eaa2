"""test-mapping, the dry run and the live-sync gate, against the sandbox over HTTP: every unmapped or
inactive reference is reported with field and fix, and nothing is written to QBO."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import select, update

from qbo_integration.connections.models import Integration
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.core_platform.models import Project, User
from qbo_integration.directory.models import QboDirectoryRecord
from qbo_integration.mapping.models import DryRun
from qbo_integration.mapping.payload import build_time_activity
from qbo_integration.monitoring.models import SetupChecklist
from tests.mapping import factories as f

API = "/api/v1/integrations/quickbooks"
RATES = {"default": 65}  # billable time needs a bill rate (QBO refuses it without HourlyRate)


async def _by_qbo(sessionmaker, model, company_id, qbo):
    async with sessionmaker() as s:
        return (await s.execute(select(model).where(model.company_id == company_id,
                                                    model.external_ids["qbo"].astext == qbo))).scalar_one()


async def _writes(sandbox, realm, since):
    log = (await sandbox.get(f"/_sandbox/realms/{realm}/log", params={"since": since})).json()
    return log, [e for e in log if e["write"]]


async def _setup(sessionmaker, imported):
    cid = imported.company_id
    emp1 = await _by_qbo(sessionmaker, User, cid, "1")
    emp4 = await _by_qbo(sessionmaker, User, cid, "4")
    cool = await _by_qbo(sessionmaker, Project, cid, "1")
    async with sessionmaker() as s:
        lone = f.add_worker(s, cid, "Emily Lone")
        cc = f.add_cost_code(s, cid, "100", "Framing")
        await s.flush()
        good = f.add_timecard(s, cid, emp1, cool, cc)
        bad_worker = f.add_timecard(s, cid, lone, cool, cc, clock_in=datetime(2026, 7, 3, 13, 0, tzinfo=UTC),
                                    clock_out=datetime(2026, 7, 3, 20, 0, tzinfo=UTC))
        inactive = f.add_timecard(s, cid, emp4, cool, cc, clock_in=datetime(2026, 7, 4, 13, 0, tzinfo=UTC),
                                  clock_out=datetime(2026, 7, 4, 20, 0, tzinfo=UTC))
        f.add_timecard(s, cid, emp1, cool, cc, clock_in=datetime(2026, 8, 1, 13, 0, tzinfo=UTC),
                       clock_out=datetime(2026, 8, 1, 20, 0, tzinfo=UTC))  # outside the range
        await s.commit()
    return cid, lone, cc, good, bad_worker, inactive


async def test_test_mapping_preview_is_the_exact_payload_and_errors_name_field_and_fix(
        client, auth_headers, imported, sessionmaker, sandbox):
    cid, lone, cc, good, bad_worker, inactive = await _setup(sessionmaker, imported)
    r = await client.put(f"{API}/mapping", headers=auth_headers, json={"companyId": str(cid), "mapping": {
        "costCodeMapping": [{"crewflowCostCodeId": str(cc.id), "qboServiceItemId": "1"}], "hourlyRates": RATES}})
    assert r.status_code == 200, r.text
    # Employee 4 goes inactive in QBO after the import: only QBO itself knows.
    await sandbox.post(f"/_sandbox/realms/{imported.realm_id}/entities/Employee", json={"Id": "4", "Active": False})
    since = time.time()

    r = await client.post(f"{API}/test-mapping", json={"companyId": str(cid), "timecardId": str(good.id)},
                          headers=auth_headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["valid"] is True and out["errors"] == []
    async with sessionmaker() as s:
        gw = CoreGateway(s)
        direct = await build_time_activity(s, await gw.get_company(cid), await gw.get_timecard(good.id))
    assert out["preview"] == direct.payload
    assert out["preview"]["ItemRef"] == {"value": "1", "name": "Hours"}
    assert out["preview"]["CustomerRef"] == {"value": "1", "name": "Cool Cars"}

    r = await client.post(f"{API}/test-mapping", json={"companyId": str(cid), "timecardId": str(bad_worker.id)},
                          headers=auth_headers)
    out = r.json()
    assert out["valid"] is False and out["preview"] is None
    assert out["errors"] == [{"field": "EmployeeRef", "kind": "mapping",
                              "message": "Worker 'Emily Lone' is not mapped to a QuickBooks employee",
                              "fix": "Map 'Emily Lone' in Mapping → Workers, or import employees from QuickBooks"}]

    r = await client.post(f"{API}/test-mapping", json={"companyId": str(cid), "timecardId": str(inactive.id)},
                          headers=auth_headers)
    out = r.json()
    assert out["valid"] is False
    assert [e["field"] for e in out["errors"]] == ["EmployeeRef"]
    assert "inactive in QuickBooks" in out["errors"][0]["message"] and "Reactivate" in out["errors"][0]["fix"]
    assert "Import again" not in out["errors"][0]["fix"]  # QuickBooks itself said so: no copy to refresh

    for bad in ({"companyId": str(cid)}, {"companyId": str(cid), "timecardId": "x"}):
        assert (await client.post(f"{API}/test-mapping", json=bad, headers=auth_headers)).status_code == 422
    other = await client.post(f"{API}/test-mapping", json={"companyId": str(cid), "timecardId": str(lone.id)},
                              headers=auth_headers)
    assert other.status_code == 404
    log, writes = await _writes(sandbox, imported.realm_id, since)
    assert log and writes == []


async def test_a_refusal_from_our_copy_of_the_directory_tells_how_to_refresh_it(
        client, auth_headers, imported, sessionmaker):
    """Our copy says the employee is inactive; the bookkeeper may have reactivated them since. The fix named
    only "Reactivate in QuickBooks", which the admin sees done already (seed 121 of the operations
    campaign: the dry run refused 8 times). Fails on ff3c846."""
    cid, lone, cc, good, bad_worker, inactive = await _setup(sessionmaker, imported)
    r = await client.put(f"{API}/mapping", headers=auth_headers, json={"companyId": str(cid), "mapping": {
        "costCodeMapping": [{"crewflowCostCodeId": str(cc.id), "qboServiceItemId": "1"}], "hourlyRates": RATES}})
    assert r.status_code == 200, r.text
    async with sessionmaker() as s:
        await s.execute(update(QboDirectoryRecord).where(QboDirectoryRecord.company_id == cid,
                                                         QboDirectoryRecord.entity_type == "Employee",
                                                         QboDirectoryRecord.qbo_id == "1").values(active=False))
        await s.commit()
    r = await client.post(f"{API}/test-mapping", json={"companyId": str(cid), "timecardId": str(good.id)},
                          headers=auth_headers)
    out = r.json()
    assert out["valid"] is False
    assert "inactive in QuickBooks" in out["errors"][0]["message"]
    assert out["errors"][0]["fix"].endswith(
        "Active in QuickBooks already? Press Import again in Mapping to refresh our copy")


async def test_dry_run_gates_live_sync(client, auth_headers, imported, sessionmaker, sandbox):
    cid, lone, cc, good, bad_worker, inactive = await _setup(sessionmaker, imported)
    body = {"companyId": str(cid), "startDate": "2026-07-01", "endDate": "2026-07-31"}
    r = await client.post(f"{API}/dry-run", json=body, headers=auth_headers)
    assert r.status_code == 409 and "mapping profile" in r.json()["error"]["message"]
    r = await client.post(f"{API}/live-sync", json={"companyId": str(cid), "enabled": True}, headers=auth_headers)
    assert r.status_code == 409
    assert "Run a dry run that passes with the current mapping profile first" in r.json()["error"]["message"]

    mapping = {"costCodeMapping": [{"crewflowCostCodeId": str(cc.id), "qboServiceItemId": "1"}],
               "hourlyRates": RATES}
    assert (await client.put(f"{API}/mapping", json={"companyId": str(cid), "mapping": mapping},
                             headers=auth_headers)).status_code == 200
    await sandbox.post(f"/_sandbox/realms/{imported.realm_id}/entities/Employee", json={"Id": "4", "Active": False})
    since = time.time()
    r = await client.post(f"{API}/dry-run", json=body, headers=auth_headers)
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["passed"] is False and run["timecardsChecked"] == 3 and run["timecardsValid"] == 1
    by_id = {t["timecardId"]: t for t in run["timecards"]}
    assert by_id[str(good.id)]["valid"] and by_id[str(good.id)]["operation"] == "create"
    assert by_id[str(good.id)]["preview"]["TxnDate"] == "2026-07-02"
    assert [e["field"] for e in by_id[str(bad_worker.id)]["errors"]] == ["EmployeeRef"]
    assert "not mapped" in by_id[str(bad_worker.id)]["errors"][0]["message"]
    assert "inactive in QuickBooks" in by_id[str(inactive.id)]["errors"][0]["message"]
    r = await client.post(f"{API}/live-sync", json={"companyId": str(cid), "enabled": True}, headers=auth_headers)
    assert r.status_code == 409 and "dry run" in r.json()["error"]["message"]

    # Fix both: map the lone worker, reactivate employee 4. The dry run passes; live sync can be enabled.
    mapping["employeeMapping"] = [{"crewflowWorkerId": str(lone.id), "qboEmployeeId": "2"}]
    saved = await client.put(f"{API}/mapping", json={"companyId": str(cid), "mapping": mapping, "confirmDuplicates": True}, headers=auth_headers)
    assert saved.json()["revision"] == 2
    await sandbox.post(f"/_sandbox/realms/{imported.realm_id}/entities/Employee", json={"Id": "4", "Active": True})
    run = (await client.post(f"{API}/dry-run", json=body, headers=auth_headers)).json()
    assert run["passed"] is True and run["profileRevision"] == 2, run
    r = await client.post(f"{API}/live-sync", json={"companyId": str(cid), "enabled": True}, headers=auth_headers)
    assert r.status_code == 200 and r.json()["enabled"] is True
    async with sessionmaker() as s:
        assert (await s.get(Integration, imported.integration_id)).enabled is True
        checklist = await s.get(SetupChecklist, cid)
        assert checklist.dry_run_passed_at and checklist.live_sync_enabled_at
        runs = (await s.execute(select(DryRun.passed).where(DryRun.company_id == cid))).scalars().all()
        assert sorted(runs) == [False, True]

    # A new revision needs a new passing dry run.
    assert (await client.post(f"{API}/live-sync", json={"companyId": str(cid), "enabled": False},
                              headers=auth_headers)).json()["enabled"] is False
    mapping["employeeMapping"] = []
    await client.put(f"{API}/mapping", json={"companyId": str(cid), "mapping": mapping}, headers=auth_headers)
    r = await client.post(f"{API}/live-sync", json={"companyId": str(cid), "enabled": True}, headers=auth_headers)
    assert r.status_code == 409 and "revision 3" in r.json()["error"]["message"]

    for bad in ({**body, "endDate": "2026-06-01"}, {**body, "startDate": "2025-01-01"}, {**body, "startDate": "x"},
                {"companyId": str(cid)}):
        r = await client.post(f"{API}/dry-run", json=bad, headers=auth_headers)
        assert r.status_code == 422, (bad, r.text)
    r = await client.post(f"{API}/live-sync", json={"companyId": str(cid), "enabled": "true"}, headers=auth_headers)
    assert r.status_code == 422
    log, writes = await _writes(sandbox, imported.realm_id, since)
    assert any("query" in e["path"] for e in log) and writes == []


async def test_dry_run_after_syncing_says_unchanged_and_knows_live_sync_is_on(client, auth_headers, imported,
                                                                              sessionmaker, sandbox):
    from sqlalchemy import update

    from qbo_integration.core_platform.models import Timecard

    cid, lone, cc, good, bad_worker, inactive = await _setup(sessionmaker, imported)
    mapping = {"costCodeMapping": [{"crewflowCostCodeId": str(cc.id), "qboServiceItemId": "1"}],
               "hourlyRates": RATES}
    assert (await client.put(f"{API}/mapping", json={"companyId": str(cid), "mapping": mapping},
                             headers=auth_headers)).status_code == 200
    async with sessionmaker() as s:  # good is in QBO as it is; bad_worker was synced, then edited (pending)
        await s.execute(update(Timecard).where(Timecard.id == good.id).values(sync_status="synced", qbo_id="501"))
        await s.execute(update(Timecard).where(Timecard.id == bad_worker.id).values(sync_status="pending", qbo_id="502"))
        await s.execute(update(Integration).where(Integration.company_id == cid).values(enabled=True))
        await s.commit()
    body = {"companyId": str(cid), "startDate": "2026-07-02", "endDate": "2026-07-02"}
    run = (await client.post(f"{API}/dry-run", json=body, headers=auth_headers)).json()
    assert [(t["timecardId"], t["operation"]) for t in run["timecards"]] == [(str(good.id), "unchanged")]
    assert run["passed"] and "You can enable live sync" not in run["message"]
    assert "Live sync is on" in run["message"]
    body = {"companyId": str(cid), "startDate": "2026-07-03", "endDate": "2026-07-03"}
    run = (await client.post(f"{API}/dry-run", json=body, headers=auth_headers)).json()
    assert [t["operation"] for t in run["timecards"]] == ["update"]
