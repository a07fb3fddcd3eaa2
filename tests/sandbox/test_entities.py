"""Entity calls held to qbo-wire.md: envelopes, status codes, validation codes, SyncToken."""

from __future__ import annotations

from .conftest import fault_error, time_activity


async def test_every_answer_has_intuit_tid_and_companyinfo(company):
    r = await company.get(f"/companyinfo/{company.realm_id}")
    assert r.status_code == 200 and r.headers["intuit_tid"]
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"CompanyInfo", "time"} and body["CompanyInfo"]["CompanyName"]


async def test_create_time_activity_answers_200_with_entity(company):
    r = await company.post("/timeactivity", time_activity(ClassRef={"value": "5000000000000007281"}))
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"TimeActivity", "time"}
    ta = body["TimeActivity"]
    assert ta["Id"] and ta["SyncToken"] == "0" and ta["domain"] == "QBO" and ta["sparse"] is False
    assert set(ta["MetaData"]) == {"CreateTime", "LastUpdatedTime"}
    assert ta["EmployeeRef"]["value"] == "1" and ta["EmployeeRef"]["name"]
    assert ta["Hours"] == 8 and ta["Minutes"] == 30 and ta["BillableStatus"] == "Billable"
    assert ta["Description"] == "Framing, level 2" and ta["TxnDate"] == "2026-03-02"
    read = await company.get(f"/timeactivity/{ta['Id']}")
    assert read.status_code == 200 and read.json()["TimeActivity"] == ta


async def test_create_with_start_end_times_restated_in_company_time_zone(company):
    """QBO answers the instants in CompanyInfo.DefaultTimeZone (here America/Los_Angeles, -08:00 in March)."""
    body = time_activity(Hours=None, Minutes=None, StartTime="2026-03-02T07:00:00-07:00",
                         EndTime="2026-03-02T15:30:00-07:00", BreakMinutes=30)
    r = await company.post("/timeactivity", body)
    assert r.status_code == 200, r.text
    ta = r.json()["TimeActivity"]
    assert (ta["StartTime"], ta["EndTime"]) == ("2026-03-02T06:00:00-08:00", "2026-03-02T14:30:00-08:00")


async def test_txn_date_defaults_to_today(company):
    r = await company.post("/timeactivity", time_activity(TxnDate=None))
    assert r.status_code == 200 and len(r.json()["TimeActivity"]["TxnDate"]) == 10


async def test_validation_faults(company):
    # inactive employee: find one
    r = await company.query("SELECT * FROM Employee WHERE Active = false")
    inactive = r.json()["QueryResponse"]["Employee"][0]["Id"]
    cases = [
        (time_activity(NameOf=None), "2020", "NameOf"),
        (time_activity(EmployeeRef=None), "2020", "EmployeeRef"),
        (time_activity(NameOf="Vendor", EmployeeRef=None), "2020", "VendorRef"),
        (time_activity(EmployeeRef={"value": "99999"}), "2500", "EmployeeRef"),
        (time_activity(CustomerRef={"value": "99999"}), "2500", "CustomerRef"),
        (time_activity(ItemRef={"value": "99999"}), "2500", "ItemRef"),
        (time_activity(EmployeeRef={"value": inactive}), "610", "EmployeeRef"),
        (time_activity(Hours=None, Minutes=None), "2020", "Hours"),
        (time_activity(Minutes=60), "6000", "Minutes"),
        (time_activity(CustomerRef=None), "6000", "CustomerRef"),
        (time_activity(Description="x" * 4001), "2050", "Description"),
        (time_activity(BillableStatus="Maybe"), "2010", "BillableStatus"),
    ]
    for body, code, element in cases:
        r = await company.post("/timeactivity", body)
        assert r.status_code == 400, (code, r.text)
        err = fault_error(r)
        assert (err["code"], err["element"], err["type"]) == (code, element, "ValidationFault"), err
    assert len((await company.admin("GET", "/entities/TimeActivity")).json()["items"]) == 0


async def test_non_billable_without_customer_is_fine(company):
    r = await company.post("/timeactivity", time_activity(CustomerRef=None, BillableStatus="NotBillable"))
    assert r.status_code == 200


async def test_read_missing_is_610(company):
    r = await company.get("/timeactivity/424242")
    assert r.status_code == 400
    err = fault_error(r)
    assert err["code"] == "610" and err["Message"] == "Object Not Found"


async def test_full_and_sparse_update_with_sync_token(company):
    ta = (await company.post("/timeactivity", time_activity())).json()["TimeActivity"]
    full = time_activity(Id=ta["Id"], SyncToken="0", Hours=6, Minutes=0, Description=None)
    r = await company.post("/timeactivity", full)
    assert r.status_code == 200, r.text
    upd = r.json()["TimeActivity"]
    assert upd["SyncToken"] == "1" and upd["Hours"] == 6 and "Description" not in upd  # full replace
    r = await company.post("/timeactivity", {"Id": ta["Id"], "SyncToken": "1", "sparse": True,
                                              "Description": "sparse"})
    sp = r.json()["TimeActivity"]
    assert sp["SyncToken"] == "2" and sp["Hours"] == 6 and sp["Description"] == "sparse"
    assert sp["MetaData"]["CreateTime"] == ta["MetaData"]["CreateTime"]
    stale = await company.post("/timeactivity", {**full, "SyncToken": "1"})
    assert stale.status_code == 400
    assert fault_error(stale)["code"] == "5010"


async def test_delete_time_activity(company):
    ta = (await company.post("/timeactivity", time_activity())).json()["TimeActivity"]
    r = await company.post("/timeactivity", {"Id": ta["Id"], "SyncToken": "0"}, operation="delete")
    assert r.status_code == 200
    body = r.json()
    assert body["TimeActivity"] == {"Id": ta["Id"], "status": "Deleted", "domain": "QBO"} and body["time"]
    assert (await company.get(f"/timeactivity/{ta['Id']}")).status_code == 400
    items = (await company.admin("GET", "/entities/TimeActivity", params={"includeDeleted": 1})).json()["items"]
    assert [i["status"] for i in items] == ["Deleted"]
    assert (await company.admin("GET", "/entities/TimeActivity")).json()["items"] == []


async def test_create_name_entities_and_jobs(company):
    emp = await company.post("/employee", {"GivenName": "Ada", "FamilyName": "Stone",
                                           "PrimaryEmailAddr": {"Address": "ada@example.com"}})
    assert emp.status_code == 200 and emp.json()["Employee"]["DisplayName"] == "Ada Stone"
    cust = (await company.post("/customer", {"DisplayName": "Acme Builders"})).json()["Customer"]
    job = await company.post("/customer", {"DisplayName": "Acme Tower", "ParentRef": {"value": cust["Id"]}})
    j = job.json()["Customer"]
    assert j["Job"] is True and j["FullyQualifiedName"] == "Acme Builders:Acme Tower"
    item = await company.post("/item", {"Name": "Demolition", "Type": "Service"})
    assert item.json()["Item"]["Type"] == "Service"
    cls = await company.post("/class", {"Name": "Industrial"})
    assert cls.status_code == 200 and len(cls.json()["Class"]["Id"]) > 10
    dup = await company.post("/customer", {"DisplayName": "Ada Stone"})
    assert dup.status_code == 400 and fault_error(dup)["code"] == "6240"
    assert (await company.get(f"/customer/{j['Id']}")).json()["Customer"]["ParentRef"]["value"] == cust["Id"]


async def test_minorversion_missing_or_retired_is_served(company):
    for mv in (None, "40", "75", "999"):
        params = {} if mv is None else {"minorversion": mv}
        r = await company.http.get(f"{company.base}/companyinfo/{company.realm_id}", params=params,
                                   headers=company.headers)
        assert r.status_code == 200
    log = await company.log()
    assert [e["minorversion"] for e in log[-4:]] == [75, 75, 75, 999]
    assert [e["minorversionSent"] for e in log[-4:]] == [None, "40", "75", "999"]


async def test_bad_json_body(company):
    r = await company.http.post(f"{company.base}/timeactivity", content=b"{nope",
                                headers={**company.headers, "Content-Type": "application/json"})
    assert r.status_code == 400 and fault_error(r)["code"] == "2010"


async def test_admin_upsert_deactivates(company):
    r = await company.admin("POST", "/entities/Employee", json={"Id": "2", "Active": False})
    assert r.status_code == 200 and r.json()["Active"] is False and r.json()["SyncToken"] == "1"
    bad = await company.post("/timeactivity", time_activity(EmployeeRef={"value": "2"}))
    assert fault_error(bad)["code"] == "610"
