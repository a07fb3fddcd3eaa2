"""build_time_activity: reference resolution (profile, then external_ids), names, inactive records."""

from __future__ import annotations

from datetime import UTC, datetime

from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.mapping.payload import build_time_activity
from tests.mapping import factories as f


async def _build(sessionmaker, company, timecard_id):
    async with sessionmaker() as s:
        gw = CoreGateway(s)
        comp = await gw.get_company(company.id)
        tc = await gw.get_timecard(timecard_id)
        return await build_time_activity(s, comp, tc)


async def test_default_mapping_uses_external_ids_without_a_profile(sessionmaker, company):
    async with sessionmaker() as s:
        w = f.add_worker(s, company.id, "Emily Platt", "emily@acme.test", qbo="55")
        p = f.add_project(s, company.id, "Cool Cars", qbo="3")
        cc = f.add_cost_code(s, company.id, "100", "Framing")
        f.add_record(s, company.id, "Employee", "55", "Emily Platt")
        await s.flush()
        t = f.add_timecard(s, company.id, w, p, cc, billable=False)  # billable time needs a profile's rate
        await s.commit()
    res = await _build(sessionmaker, company, t.id)
    assert res.errors == []
    assert res.profile_id is None and res.profile_revision is None
    assert res.payload["EmployeeRef"] == {"value": "55", "name": "Emily Platt"}
    assert res.payload["CustomerRef"] == {"value": "3"}  # not in our directory copy: no name
    assert "ItemRef" not in res.payload  # no profile: cost codes are not mapped
    assert res.payload["StartTime"] == "2026-07-02T07:00:00-06:00"


async def test_profile_maps_win_over_external_ids_with_class_location_and_rate(sessionmaker, company):
    async with sessionmaker() as s:
        w = f.add_worker(s, company.id, "Emily Platt", qbo="55")
        p = f.add_project(s, company.id, "Cool Cars", qbo="3")
        cc = f.add_cost_code(s, company.id, "100", "Framing")
        await s.flush()
        prof = f.add_profile(s, company.id, {
            "employeeMapping": {str(w.id): "56"}, "customerMapping": {str(p.id): "4"},
            "costCodeMapping": {str(cc.id): "5000000000000007281"}, "locationMapping": {str(p.id): "2"},
            "hourlyRates": {"default": 50, "projects": {str(p.id): 65}}, "mapStartEnd": False,
        }, cost_code_field="Class")
        f.add_record(s, company.id, "Employee", "56", "Emily P.")
        f.add_record(s, company.id, "Class", "5000000000000007281", "Framing")
        f.add_record(s, company.id, "Department", "2", "North")
        t = f.add_timecard(s, company.id, w, p, cc)
        await s.commit()
    res = await _build(sessionmaker, company, t.id)
    assert res.errors == []
    assert (res.profile_id, res.profile_revision) == (prof.id, 1)
    assert res.payload == {
        "NameOf": "Employee", "EmployeeRef": {"value": "56", "name": "Emily P."}, "CustomerRef": {"value": "4"},
        "ClassRef": {"value": "5000000000000007281", "name": "Framing"},
        "DepartmentRef": {"value": "2", "name": "North"}, "TxnDate": "2026-07-02", "Hours": 8, "Minutes": 0,
        "BillableStatus": "Billable", "HourlyRate": 65, "Description": "Framing",
    }


async def test_unmapped_worker_project_cost_code_each_named_with_fix(sessionmaker, company):
    async with sessionmaker() as s:
        w = f.add_worker(s, company.id, "Emily Platt")
        p = f.add_project(s, company.id, "Cool Cars")
        cc = f.add_cost_code(s, company.id, "100", "Framing")
        await s.flush()
        f.add_profile(s, company.id, {})
        t = f.add_timecard(s, company.id, w, p, cc)
        await s.commit()
    res = await _build(sessionmaker, company, t.id)
    assert res.payload is None
    by_field = {e.field: e for e in res.errors}
    assert set(by_field) == {"EmployeeRef", "CustomerRef", "ItemRef", "HourlyRate"}  # billable, and no rate
    assert by_field["EmployeeRef"].message == "Worker 'Emily Platt' is not mapped to a QuickBooks employee"
    assert "Mapping → Workers" in by_field["EmployeeRef"].fix and "import employees" in by_field["EmployeeRef"].fix
    assert "'Cool Cars'" in by_field["CustomerRef"].message
    assert "'100 Framing'" in by_field["ItemRef"].message and "service item" in by_field["ItemRef"].message
    assert all(e.kind == "mapping" for e in res.errors)


async def test_inactive_and_deleted_mapped_records_are_errors(sessionmaker, company):
    async with sessionmaker() as s:
        w = f.add_worker(s, company.id, "Emily Platt", qbo="55")
        p = f.add_project(s, company.id, "Cool Cars", qbo="3")
        f.add_record(s, company.id, "Employee", "55", "Emily Platt", active=False)
        f.add_record(s, company.id, "Customer", "3", "Cool Cars", deleted=True)
        await s.flush()
        t = f.add_timecard(s, company.id, w, p)
        await s.commit()
    res = await _build(sessionmaker, company, t.id)
    assert res.payload is None
    msgs = {e.field: e.message for e in res.errors}
    assert "is inactive in QuickBooks" in msgs["EmployeeRef"]
    assert "was deleted in QuickBooks" in msgs["CustomerRef"]


async def test_zero_length_timecard_is_a_data_error(sessionmaker, company):
    t0 = datetime(2026, 7, 2, 13, 0, tzinfo=UTC)
    async with sessionmaker() as s:
        w = f.add_worker(s, company.id, "Emily Platt", qbo="55")
        p = f.add_project(s, company.id, "Cool Cars", qbo="3")
        await s.flush()
        t = f.add_timecard(s, company.id, w, p, clock_in=t0, clock_out=t0, break_minutes=0, billable=False)
        await s.commit()
    res = await _build(sessionmaker, company, t.id)
    assert res.payload is None
    assert [(e.field, e.kind) for e in res.errors] == [("EndTime", "data")]


async def test_billable_time_without_a_rate_names_the_worker_and_project(sessionmaker, company):
    async with sessionmaker() as s:
        w = f.add_worker(s, company.id, "Tom Bennett", qbo="55")
        p = f.add_project(s, company.id, "Oak St Remodel", qbo="3")
        other = f.add_project(s, company.id, "Maple Clinic", qbo="4")
        await s.flush()
        f.add_profile(s, company.id, {"hourlyRates": {"default": None, "projects": {str(other.id): 80}}})
        t = f.add_timecard(s, company.id, w, p)
        await s.commit()
    res = await _build(sessionmaker, company, t.id)
    assert res.payload is None
    [err] = res.errors
    assert (err.field, err.kind) == ("HourlyRate", "mapping")
    assert err.message == "Billable time needs an hourly rate (worker Tom Bennett, project 'Oak St Remodel')"
    assert err.fix == ("Set a rate for project 'Oak St Remodel' (worker Tom Bennett) or a default rate in "
                       "Mapping → Rates, or mark the time non-billable")


async def test_cost_rate_per_worker_then_default(sessionmaker, company):
    async with sessionmaker() as s:
        tom = f.add_worker(s, company.id, "Tom Bennett", qbo="55")
        emily = f.add_worker(s, company.id, "Emily Platt", qbo="56")
        p = f.add_project(s, company.id, "Cool Cars", qbo="3")
        await s.flush()
        f.add_profile(s, company.id, {"hourlyRates": {"default": 65},
                                      "costRates": {"default": 28, "workers": {str(tom.id): "34.5"}}})
        t1 = f.add_timecard(s, company.id, tom, p)
        t2 = f.add_timecard(s, company.id, emily, p, billable=False)
        await s.commit()
    one, two = await _build(sessionmaker, company, t1.id), await _build(sessionmaker, company, t2.id)
    assert (one.payload["HourlyRate"], one.payload["CostRate"]) == (65, 34.5)
    assert two.payload["CostRate"] == 28 and "HourlyRate" not in two.payload


async def test_a_worker_mapped_to_a_vendor_goes_out_as_the_vendor(sessionmaker, company):
    async with sessionmaker() as s:
        w = f.add_worker(s, company.id, "Luis Reyes", qbo="55")  # the import linked an employee too
        p = f.add_project(s, company.id, "Cool Cars", qbo="3")
        await s.flush()
        f.add_profile(s, company.id, {"vendorMapping": {str(w.id): "7"}, "hourlyRates": {"default": 90}})
        f.add_record(s, company.id, "Vendor", "7", "Apex Electric LLC")
        t = f.add_timecard(s, company.id, w, p)
        await s.commit()
    res = await _build(sessionmaker, company, t.id)
    assert res.errors == []
    assert res.payload["NameOf"] == "Vendor"
    assert res.payload["VendorRef"] == {"value": "7", "name": "Apex Electric LLC"}
    assert "EmployeeRef" not in res.payload


async def test_an_inactive_vendor_is_named_as_the_workers_mapping(sessionmaker, company):
    async with sessionmaker() as s:
        w = f.add_worker(s, company.id, "Luis Reyes")
        p = f.add_project(s, company.id, "Cool Cars", qbo="3")
        await s.flush()
        f.add_profile(s, company.id, {"vendorMapping": {str(w.id): "7"}, "hourlyRates": {"default": 90}})
        f.add_record(s, company.id, "Vendor", "7", "Apex Electric LLC", active=False)
        t = f.add_timecard(s, company.id, w, p)
        await s.commit()
    res = await _build(sessionmaker, company, t.id)
    [err] = res.errors
    assert err.field == "VendorRef" and "Worker 'Luis Reyes'" in err.message and "vendor" in err.message


async def test_the_dev_demo_company_gets_default_rates_so_its_billable_time_can_sync(sessionmaker):
    from sqlalchemy import select, update

    from qbo_integration.core_platform.demo_seed import DEMO_BILL_RATE, DEMO_PAY_RATE, seed_demo_company
    from qbo_integration.core_platform.models import Company, CostCode, Project, Timecard, User
    from qbo_integration.mapping.models import MappingProfile
    from qbo_integration.mapping.profiles import seed_default_rates

    async with sessionmaker() as s:
        cid = await seed_demo_company(s)
        assert await seed_default_rates(s, cid, bill_rate=DEMO_BILL_RATE, pay_rate=DEMO_PAY_RATE)
        await s.commit()
        assert not await seed_default_rates(s, cid, bill_rate=1)  # a company with a profile keeps it
        # as the wizard would after the import: every worker and project linked
        await s.execute(update(User).where(User.company_id == cid).values(external_ids={"qbo": "1"}))
        await s.execute(update(Project).where(Project.company_id == cid).values(external_ids={"qbo": "1"}))
        codes = (await s.execute(select(CostCode.id).where(CostCode.company_id == cid))).scalars()
        profile = (await s.execute(select(MappingProfile).where(MappingProfile.company_id == cid))).scalar_one()
        profile.config = {**profile.config, "costCodeMapping": {str(c): "1" for c in codes}}
        tid = (await s.execute(select(Timecard.id).where(Timecard.company_id == cid, Timecard.billable.is_(True))
                               .limit(1))).scalar_one()
        await s.commit()
        company = await s.get(Company, cid)
    res = await _build(sessionmaker, company, tid)
    assert res.errors == [] and (res.payload["HourlyRate"], res.payload["CostRate"]) == (65, 32)
