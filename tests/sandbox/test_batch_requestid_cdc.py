"""Batch, requestid replay and change data capture."""

from __future__ import annotations

from datetime import datetime, timedelta

from .conftest import fault_error, time_activity


async def test_batch_per_item_results_and_faults(company):
    ta = (await company.post("/timeactivity", time_activity())).json()["TimeActivity"]
    body = {"BatchItemRequest": [
        {"bId": "tc-1", "operation": "create", "TimeActivity": time_activity()},
        {"bId": "tc-2", "operation": "update", "TimeActivity": {**time_activity(), "Id": ta["Id"],
                                                                 "SyncToken": "7"}},
        {"bId": "tc-3", "operation": "create", "TimeActivity": time_activity(EmployeeRef={"value": "999"})},
        {"bId": "tc-4", "operation": "delete", "TimeActivity": {"Id": ta["Id"], "SyncToken": "0"}},
        {"bId": "q-1", "Query": "SELECT * FROM Class"},
    ]}
    r = await company.post("/batch", body)
    assert r.status_code == 200
    out = {i["bId"]: i for i in r.json()["BatchItemResponse"]}
    assert set(out) == {"tc-1", "tc-2", "tc-3", "tc-4", "q-1"} and r.json()["time"]
    assert out["tc-1"]["TimeActivity"]["Id"]
    assert out["tc-2"]["Fault"]["type"] == "ValidationFault"
    assert out["tc-2"]["Fault"]["Error"][0]["code"] == "5010"
    assert out["tc-3"]["Fault"]["Error"][0]["code"] == "2500"
    assert out["tc-3"]["Fault"]["Error"][0]["element"] == "EmployeeRef"
    assert out["tc-4"]["TimeActivity"]["status"] == "Deleted"
    assert len(out["q-1"]["QueryResponse"]["Class"]) == 5
    log = await company.log()
    assert log[-1]["items"] == 5 and log[-1]["write"] is True


async def test_batch_over_30_items_is_1040(company):
    items = [{"bId": f"b{i}", "operation": "create", "TimeActivity": time_activity()} for i in range(31)]
    r = await company.post("/batch", {"BatchItemRequest": items})
    assert r.status_code == 400 and fault_error(r)["code"] == "1040"
    assert (await company.admin("GET", "/entities/TimeActivity")).json()["items"] == []
    ok = await company.post("/batch", {"BatchItemRequest": items[:30]})
    assert ok.status_code == 200 and len(ok.json()["BatchItemResponse"]) == 30


async def test_requestid_replays_first_answer_and_writes_once(company):
    body = time_activity()
    first = await company.post("/timeactivity", body, requestid="rq-0001")
    second = await company.post("/timeactivity", {**body, "Hours": 2}, requestid="rq-0001")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert len((await company.admin("GET", "/entities/TimeActivity")).json()["items"]) == 1
    third = await company.post("/timeactivity", body, requestid="rq-0002")
    assert third.json()["TimeActivity"]["Id"] != first.json()["TimeActivity"]["Id"]
    assert (await company.log())[-2]["note"] == "replayed"


async def test_requestid_replays_a_fault_too(company):
    bad = time_activity(EmployeeRef={"value": "999"})
    a = await company.post("/timeactivity", bad, requestid="rq-bad")
    b = await company.post("/timeactivity", time_activity(), requestid="rq-bad")
    assert a.status_code == b.status_code == 400 and a.json() == b.json()
    assert (await company.admin("GET", "/entities/TimeActivity")).json()["items"] == []


async def test_requestid_in_batch(company):
    body = {"BatchItemRequest": [{"bId": "a", "operation": "create", "TimeActivity": time_activity()}]}
    a = await company.post("/batch", body, requestid="batch-1")
    b = await company.post("/batch", body, requestid="batch-1")
    assert a.json() == b.json()
    assert len((await company.admin("GET", "/entities/TimeActivity")).json()["items"]) == 1


async def test_cdc_changes_and_deleted_objects(company, clock):
    since = (await company.get(f"/companyinfo/{company.realm_id}")).json()["time"]
    clock.advance(1)
    await company.admin("POST", "/entities/Employee", json={"Id": "3", "Active": False})
    new = (await company.post("/customer", {"DisplayName": "Fresh Client"})).json()["Customer"]
    await company.admin("DELETE", f"/entities/Customer/{new['Id']}")
    r = await company.get("/cdc", entities="Employee,Customer,Item", changedSince=since)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"CDCResponse", "time"}
    emp, cust, item = body["CDCResponse"][0]["QueryResponse"]
    assert [e["Id"] for e in emp["Employee"]] == ["3"] and emp["Employee"][0]["Active"] is False
    assert cust["Customer"] == [{"Id": new["Id"], "status": "Deleted", "domain": "QBO",
                                 "MetaData": {"LastUpdatedTime": cust["Customer"][0]["MetaData"]["LastUpdatedTime"]}}]
    assert item == {}


async def test_cdc_lookback_limit(company, clock):
    old = (datetime.fromtimestamp(clock() - 31 * 86400).astimezone() - timedelta(0)).isoformat(timespec="seconds")
    r = await company.get("/cdc", entities="Employee", changedSince=old)
    assert r.status_code == 400
    err = fault_error(r)
    assert err["element"] == "changedSince" and "older than" in err["Detail"]
    recent = datetime.fromtimestamp(clock() - 29 * 86400).astimezone().isoformat(timespec="seconds")
    assert (await company.get("/cdc", entities="Employee", changedSince=recent)).status_code == 200


async def test_cdc_does_not_cover_time_activity(company, clock):
    since = datetime.fromtimestamp(clock() - 86400).astimezone().isoformat(timespec="seconds")
    r = await company.get("/cdc", entities="TimeActivity", changedSince=since)
    assert r.status_code == 400 and fault_error(r)["element"] == "entities"
