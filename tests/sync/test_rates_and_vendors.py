"""Issue 15 through the real engine and the sandbox (as strict as QBO): billable time carries the bill
rate (HourlyRate), every entry the worker's pay rate (CostRate), a subcontractor's time goes out as
the vendor, and billable time with no rate is the admin's to fix: not sent, not retried, not lost."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from qbo_integration.directory import import_flow
from qbo_integration.mapping.models import MappingProfile
from qbo_integration.mapping.profiles import profile_targets
from qbo_integration.sync import engine, intake, sweep
from tests.support import sync as h

API = "/api/v1/integrations/quickbooks"


async def _profile(sessionmaker: Any, company_id: uuid.UUID, **config: Any) -> None:
    """Set keys of the seeded profile's config (the route's checks are tested in tests/mapping)."""
    async with sessionmaker() as s:
        p = (await s.execute(select(MappingProfile).where(MappingProfile.company_id == company_id))).scalar_one()
        p.config = {**p.config, **config}
        p.revision += 1
        await s.commit()


async def _approve(ctx: dict, sessionmaker: Any, core: h.Core, **kw: Any) -> uuid.UUID:
    tid = await h.add_timecard(sessionmaker, core, **kw)
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    return tid


async def test_qbo_receives_the_projects_bill_rate_and_the_workers_pay_rate(ctx, live, sessionmaker, sandbox):
    cc, core = live
    await _profile(sessionmaker, core.company_id,
                   hourlyRates={"default": 65, "projects": {str(core.project_id): 82.5}},
                   costRates={"default": 25, "workers": {str(core.worker_id): 31.5}})
    tid = await _approve(ctx, sessionmaker, core)
    assert (await engine.run_company_sync(ctx, core.company_id))["synced"] == 1
    [ta] = await h.activities(sandbox, cc.realm_id)
    assert (ta["BillableStatus"], ta["HourlyRate"], ta["CostRate"]) == ("Billable", 82.5, 31.5)
    assert (ta["NameOf"], ta["EmployeeRef"]["value"]) == ("Employee", "1") and "VendorRef" not in ta
    assert (await h.row(sessionmaker, tid)).state == "synced"


async def test_a_subcontractors_time_goes_out_as_the_vendor(ctx, live, sessionmaker, sandbox):
    cc, core = live
    await _profile(sessionmaker, core.company_id, vendorMapping={str(core.worker_id): "1"},  # Apex Electric LLC
                   costRates={"default": 48})
    await _approve(ctx, sessionmaker, core)
    await _approve(ctx, sessionmaker, core, billable=False, start=h.DENVER_DAY.replace(day=3))
    assert (await engine.run_company_sync(ctx, core.company_id))["synced"] == 2
    tas = await h.activities(sandbox, cc.realm_id)
    assert [(t["NameOf"], t["VendorRef"]["value"], t["VendorRef"]["name"]) for t in tas] == \
        [("Vendor", "1", "Apex Electric LLC")] * 2
    assert all("EmployeeRef" not in t and t["CostRate"] == 48 for t in tas)
    assert sorted(t["BillableStatus"] for t in tas) == ["Billable", "NotBillable"]


async def test_billable_time_without_a_rate_waits_for_the_admin_and_syncs_once_a_rate_is_set(
        ctx, live, sessionmaker, sandbox, clock, client, auth_headers):
    cc, core = live
    await _profile(sessionmaker, core.company_id, hourlyRates={"default": None, "projects": {}})
    billable = await _approve(ctx, sessionmaker, core)
    plain = await _approve(ctx, sessionmaker, core, billable=False, start=h.DENVER_DAY.replace(day=3))
    await engine.run_company_sync(ctx, core.company_id)

    r = await h.row(sessionmaker, billable)
    assert (r.state, r.error_kind, r.attempts) == ("failed", "mapping", 0)
    assert r.last_error.startswith("Billable time needs an hourly rate (worker Emily Platt, project 'Cool Cars'). "
                                   "Set a rate for project 'Cool Cars' (worker Emily Platt) or a default rate in "
                                   "Mapping → Rates, or mark the time non-billable.")
    assert (await h.core_timecard(sessionmaker, billable)).sync_status == "failed"
    assert (await h.row(sessionmaker, plain)).state == "synced"  # the rest of the company's time still goes
    [sent] = await h.activities(sandbox, cc.realm_id)
    assert sent["BillableStatus"] == "NotBillable" and "HourlyRate" not in {k for k, v in sent.items() if v}

    calls = len(await h.sandbox_log(sandbox, cc.realm_id))  # QBO would refuse it: it is never sent, nor retried
    clock.advance(hours=6)
    await sweep.sweep(ctx)
    await engine.run_company_sync(ctx, core.company_id)
    assert len(await h.sandbox_log(sandbox, cc.realm_id)) == calls
    assert (await h.row(sessionmaker, billable)).state == "failed"

    # The admin sets a rate where the message said (the mapping route checks ids against the directory).
    done = await import_flow.run_import(sessionmaker, ctx["qbo"], ctx["queue"], core.company_id, mapped=profile_targets)
    assert done["status"] == "completed", done
    # The import changed the directory, so it re-queued the mapping failures: still no rate, failed again.
    await engine.run_company_sync(ctx, core.company_id)
    assert (await h.row(sessionmaker, billable)).state == "failed"
    assert len(await h.sandbox_log(sandbox, cc.realm_id)) == calls  # and still never sent
    saved = await client.put(f"{API}/mapping", headers=auth_headers, json={"companyId": str(core.company_id), "mapping": {
        "costCodeMapping": [{"crewflowCostCodeId": str(core.cost_code_id), "qboServiceItemId": "1"}],
        "hourlyRates": {"default": None, "projects": [{"crewflowProjectId": str(core.project_id), "rate": "72.50"}]}}})
    assert saved.status_code == 200, saved.text
    assert saved.json()["requeued"] == 1
    await engine.run_company_sync(ctx, core.company_id)
    r = await h.row(sessionmaker, billable)
    assert (r.state, r.last_error) == ("synced", None)
    [ta] = [t for t in await h.activities(sandbox, cc.realm_id) if t["Id"] == r.qbo_id]
    assert (ta["BillableStatus"], ta["HourlyRate"]) == ("Billable", 72.5)
    assert len(await h.activities(sandbox, cc.realm_id)) == 2
