"""Subcontractors' time (NameOf Vendor) and customers' jobs (FullyQualifiedName), as QBO answers them."""

from __future__ import annotations

from .conftest import fault_error, time_activity


async def test_a_vendors_time_needs_a_live_vendor_ref_and_no_employee(company):
    vendors = (await company.query("SELECT * FROM Vendor")).json()["QueryResponse"]["Vendor"]
    assert len(vendors) >= 2 and all(v["Vendor1099"] for v in vendors)  # the sample company's subcontractors
    vendor = vendors[0]
    r = await company.post("/timeactivity", time_activity(NameOf="Vendor", EmployeeRef=None,
                                                          VendorRef={"value": vendor["Id"]}, CostRate=48))
    assert r.status_code == 200, r.text
    ta = r.json()["TimeActivity"]
    assert ta["NameOf"] == "Vendor" and ta["VendorRef"] == {"value": vendor["Id"], "name": vendor["DisplayName"]}
    assert ta["CostRate"] == 48 and "EmployeeRef" not in ta
    # NameOf Vendor with only an EmployeeRef, or a vendor QBO does not have: refused.
    err = fault_error(await company.post("/timeactivity", time_activity(NameOf="Vendor")))
    assert (err["code"], err["element"]) == ("2020", "VendorRef")
    err = fault_error(await company.post("/timeactivity", time_activity(NameOf="Vendor", EmployeeRef=None,
                                                                        VendorRef={"value": "99999"})))
    assert (err["code"], err["element"]) == ("2500", "VendorRef")


async def test_renaming_a_customer_renames_its_jobs_full_names(company):
    parent = (await company.post("/customer", {"DisplayName": "Bennett Homes"})).json()["Customer"]
    job = (await company.post("/customer", {"DisplayName": "Oak St Remodel",
                                            "ParentRef": {"value": parent["Id"]}})).json()["Customer"]
    sub = (await company.post("/customer", {"DisplayName": "Oak St Kitchen",
                                            "ParentRef": {"value": job["Id"]}})).json()["Customer"]
    assert (job["FullyQualifiedName"], job["Job"], job["Level"]) == ("Bennett Homes:Oak St Remodel", True, 1)
    assert sub["FullyQualifiedName"] == "Bennett Homes:Oak St Remodel:Oak St Kitchen"
    r = await company.post("/customer", {"Id": parent["Id"], "SyncToken": parent["SyncToken"], "sparse": True,
                                         "DisplayName": "Bennett & Sons Homes"})
    assert r.status_code == 200, r.text
    got = {c["Id"]: c for c in (await company.query(
        f"SELECT * FROM Customer WHERE Id IN ('{parent['Id']}', '{job['Id']}', '{sub['Id']}')")).json()
        ["QueryResponse"]["Customer"]}
    assert got[parent["Id"]]["FullyQualifiedName"] == "Bennett & Sons Homes"
    assert got[job["Id"]]["FullyQualifiedName"] == "Bennett & Sons Homes:Oak St Remodel"
    assert got[job["Id"]]["DisplayName"] == "Oak St Remodel"
    assert got[sub["Id"]]["FullyQualifiedName"] == "Bennett & Sons Homes:Oak St Remodel:Oak St Kitchen"
