"""Company preferences and the rules they impose on TimeActivity, as QBO answers them."""

from __future__ import annotations

from .conftest import fault_error, time_activity


async def _prefs(company, **sections) -> dict:
    r = await company.admin("PUT", "/preferences", json=sections)
    assert r.status_code == 200, r.text
    return r.json()


async def test_preferences_served_as_qbo_serves_them(company):
    r = await company.get("/preferences")
    assert r.status_code == 200 and set(r.json()) == {"Preferences", "time"}
    p = r.json()["Preferences"]
    acct = p["AccountingInfoPrefs"]
    assert acct["ClassTrackingPerTxn"] is True and acct["TrackDepartments"] is True
    assert "BookCloseDate" not in acct and p["Id"] == "1" and p["MetaData"]["LastUpdatedTime"]
    await _prefs(company, AccountingInfoPrefs={"BookCloseDate": "2026-03-31", "TrackDepartments": False},
                 DefaultTimeZone="America/Denver")
    p2 = (await company.get("/preferences")).json()["Preferences"]
    assert p2["AccountingInfoPrefs"]["BookCloseDate"] == "2026-03-31"
    assert p2["AccountingInfoPrefs"]["TrackDepartments"] is False and int(p2["SyncToken"]) == int(p["SyncToken"]) + 1
    info = (await company.get(f"/companyinfo/{company.realm_id}")).json()["CompanyInfo"]
    assert info["DefaultTimeZone"] == "America/Denver"


async def test_bad_admin_preferences_rejected_nothing_changed(company):
    for body in ({"AccountingInfoPrefs": {"BookCloseDate": "31/03/2026"}}, {"AccountingInfoPrefs": {"Foo": 1}},
                 {"AccountingInfoPrefs": {"TrackDepartments": "no"}}, {"Nope": {}},
                 {"DefaultTimeZone": "Mars/Olympus"}):
        r = await company.admin("PUT", "/preferences", json=body)
        assert r.status_code == 422, body
    p = (await company.get("/preferences")).json()["Preferences"]
    assert p["SyncToken"] == "0" and "BookCloseDate" not in p["AccountingInfoPrefs"]


async def test_closed_books_refuse_create_update_delete_on_or_before_the_date(company):
    open_ta = (await company.post("/timeactivity", time_activity(TxnDate="2026-03-31"))).json()["TimeActivity"]
    await _prefs(company, AccountingInfoPrefs={"BookCloseDate": "2026-03-31"})
    for body in (time_activity(TxnDate="2026-03-31"), time_activity(TxnDate="2025-12-01")):
        r = await company.post("/timeactivity", body)
        assert r.status_code == 400
        err = fault_error(r)
        assert (err["code"], err["Message"], err["element"], err["type"]) == (
            "6210", "Account Period Closed", "TxnDate", "ValidationFault")
        assert err["Detail"].startswith("The account period has closed and the account books cannot be updated")
    moved = time_activity(TxnDate="2026-04-01", Id=open_ta["Id"], SyncToken=open_ta["SyncToken"])
    assert fault_error(await company.post("/timeactivity", moved))["code"] == "6210"  # out of a closed period
    gone = await company.post("/timeactivity", {"Id": open_ta["Id"], "SyncToken": open_ta["SyncToken"]},
                              operation="delete")
    assert fault_error(gone)["code"] == "6210"
    batch = await company.post("/batch", {"BatchItemRequest": [
        {"bId": "1", "operation": "create", "TimeActivity": time_activity(TxnDate="2026-01-05")},
        {"bId": "2", "operation": "create", "TimeActivity": time_activity(TxnDate="2026-04-01")}]})
    items = batch.json()["BatchItemResponse"]
    assert items[0]["Fault"]["Error"][0]["code"] == "6210" and items[1]["TimeActivity"]["Id"]
    rows = (await company.admin("GET", "/entities/TimeActivity")).json()["items"]
    assert sorted(t["TxnDate"] for t in rows) == ["2026-03-31", "2026-04-01"]
    await _prefs(company, AccountingInfoPrefs={"BookCloseDate": None})  # the books reopen
    assert (await company.post("/timeactivity", time_activity(TxnDate="2026-01-05"))).status_code == 200


async def test_class_and_location_need_their_tracking(company):
    with_class = time_activity(ClassRef={"value": "5000000000000007281"})
    with_dept = time_activity(DepartmentRef={"value": "1"})
    assert (await company.post("/timeactivity", with_class)).status_code == 200  # tracking on by default
    assert (await company.post("/timeactivity", with_dept)).status_code == 200
    await _prefs(company, AccountingInfoPrefs={"ClassTrackingPerTxn": False, "TrackDepartments": False})
    for body, element in ((with_class, "ClassRef"), (with_dept, "DepartmentRef")):
        err = fault_error(await company.post("/timeactivity", body))
        assert (err["code"], err["element"]) == ("6000", element)
        assert err["Detail"].startswith("Business Validation Error:")
    assert (await company.post("/timeactivity", time_activity())).status_code == 200


async def test_billable_time_needs_an_hourly_rate(company):
    err = fault_error(await company.post("/timeactivity", time_activity(HourlyRate=None)))
    assert (err["code"], err["element"]) == ("6000", "HourlyRate")
    ok = await company.post("/timeactivity", time_activity(HourlyRate=None, BillableStatus="NotBillable"))
    assert ok.status_code == 200


async def test_times_restated_in_the_company_zone_on_txn_date(company):
    await _prefs(company, DefaultTimeZone="America/Denver")
    body = time_activity(Hours=None, Minutes=None, TxnDate="2026-03-01",
                         StartTime="2026-03-02T06:00:00-08:00", EndTime="2026-03-02T15:00:00-08:00")
    ta = (await company.post("/timeactivity", body)).json()["TimeActivity"]
    # 06:00 Pacific is 07:00 Mountain; QBO puts it on TxnDate and keeps the nine hours.
    assert (ta["TxnDate"], ta["StartTime"], ta["EndTime"]) == (
        "2026-03-01", "2026-03-01T07:00:00-07:00", "2026-03-01T16:00:00-07:00")
    night = time_activity(Hours=None, Minutes=None, TxnDate="2026-03-07",  # over the spring-forward night
                          StartTime="2026-03-07T22:00:00-07:00", EndTime="2026-03-08T06:00:00-06:00")
    ta = (await company.post("/timeactivity", night)).json()["TimeActivity"]
    assert (ta["StartTime"], ta["EndTime"]) == ("2026-03-07T22:00:00-07:00", "2026-03-08T06:00:00-06:00")


async def test_break_longer_than_the_shift_refused(company):
    body = time_activity(Hours=None, Minutes=None, StartTime="2026-03-02T07:00:00-08:00",
                         EndTime="2026-03-02T08:00:00-08:00", BreakHours=1, BreakMinutes=1)
    err = fault_error(await company.post("/timeactivity", body))
    assert (err["code"], err["element"]) == ("6000", "BreakMinutes")
    body["BreakHours"], body["BreakMinutes"] = 0, 30
    assert (await company.post("/timeactivity", body)).status_code == 200
    assert len((await company.admin("GET", "/entities/TimeActivity")).json()["items"]) == 1


async def test_billable_rate_rule_can_be_switched_off_per_realm(company):
    r = await company.admin("PUT", "/preferences", json={"BillableNeedsHourlyRate": False})
    assert r.status_code == 200 and r.json()["BillableNeedsHourlyRate"] is False
    assert (await company.post("/timeactivity", time_activity(HourlyRate=None))).status_code == 200
    assert (await company.admin("PUT", "/preferences", json={"BillableNeedsHourlyRate": "no"})).status_code == 422
