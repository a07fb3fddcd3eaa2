"""A deterministic sample construction company (seeded random)."""

from __future__ import annotations

import random

from .store import Realm

FIRST = ["Emily", "Marcus", "Sofia", "Daniel", "Aisha", "Tom", "Grace", "Luis", "Hannah", "Kwame", "Priya",
         "Ben", "Olivia", "Diego", "Mei", "Sam", "Rosa", "Jack", "Nina", "Omar", "Claire", "Victor", "Ivy",
         "Paul", "Zoe", "Ray", "Tessa", "Hugo"]
LAST = ["Platt", "Nguyen", "Garcia", "Okafor", "Kowalski", "Bennett", "Reyes", "Schmidt", "Patel", "Brooks",
        "Alvarez", "Fischer", "Tanaka", "Murphy", "Haddad", "Larsen", "Moreau", "Silva", "Walsh", "Chen"]
CUSTOMERS = ["Cool Cars", "Hillside Dental", "Riverbend HOA", "Oakridge Schools", "Summit Bank",
             "Lakeview Apartments", "Granite Foods", "Pinecrest Church", "Harbor Logistics", "Maple Clinic",
             "Sunset Realty", "Evergreen Library", "Canyon Brewing", "Northgate Mall", "Willow Farms"]
STREETS = ["Elm St", "Oak Ave", "Main St", "Cedar Ln", "Bay Rd", "Hill Dr", "Park Pl", "Lake Blvd", "Mill Rd",
           "Pine Ct", "River Way", "Ash St"]
WORKS = ["Remodel", "Roof Repair", "Addition", "Parking Lot", "Tenant Improvement", "Foundation", "Fit-Out",
         "Warehouse Slab"]
ITEMS = [("Hours", 45), ("Framing Labor", 65), ("Concrete", 70), ("Electrical", 85), ("Plumbing", 80),
         ("Drywall", 55), ("Roofing", 60), ("Site Prep", 50), ("Project Management", 95)]
CLASSES = ["Residential", "Commercial", "Remodel", "Warranty", "Public Works"]
DEPARTMENTS = ["North Yard", "South Yard", "Downtown"]
VENDORS = ["Apex Electric LLC", "Bluewater Plumbing Inc", "Stonecraft Masonry"]


def realm_id_for(index: int) -> str:
    """QBO-like numeric realm ids: 9130357766900001, 9130357766900002, ..."""
    return str(9130357766900000 + index + 1)


def populate(realm: Realm, seed: int) -> None:
    rng = random.Random(f"{seed}:{realm.realm_id}")
    realm.sample = True
    names = rng.sample([(f, la) for f in FIRST for la in LAST], 25)
    inactive = set(rng.sample(range(5, 25), 3))  # Ids 1-5 always active
    for i, (first, last) in enumerate(names):
        realm.insert("Employee", {
            "BillableTime": False, "GivenName": first, "FamilyName": last,
            "DisplayName": f"{first} {last}", "PrintOnCheckName": f"{first} {last}",
            "Active": i not in inactive, "EmployeeNumber": f"E{100 + i}",
            "PrimaryEmailAddr": {"Address": f"{first}.{last}@example.com".lower()},
            "PrimaryPhone": {"FreeFormNumber": f"(916) 555-{rng.randint(1000, 9999)}"},
            "HiredDate": f"20{rng.randint(15, 25)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        })
    jobs = iter(rng.sample([f"{s} {w}" for s in STREETS for w in WORKS], 3 * len(CUSTOMERS)))
    for n, name in enumerate(CUSTOMERS):
        parent = realm.insert("Customer", {**_customer(name, name), "Active": n != 11})
        for job in [next(jobs) for _ in range(rng.randint(0, 3))]:
            realm.insert("Customer", {**_customer(job, f"{name}:{job}"), "Job": True, "BillWithParent": True,
                                      "ParentRef": {"value": parent.id, "name": name}, "Level": 1,
                                      "Active": n != 11})
    for name, rate in ITEMS:
        realm.insert("Item", {"Name": name, "FullyQualifiedName": name, "Description": f"{name} (per hour)",
                              "Active": True, "Type": "Service", "UnitPrice": rate, "Taxable": False,
                              "IncomeAccountRef": {"value": "1", "name": "Services"}})
    for name in CLASSES:
        realm.insert("Class", {"Name": name, "FullyQualifiedName": name, "SubClass": False, "Active": True})
    for name in DEPARTMENTS:
        realm.insert("Department", {"Name": name, "FullyQualifiedName": name, "SubDepartment": False,
                                    "Active": True})
    for name in VENDORS:
        realm.insert("Vendor", {"DisplayName": name, "CompanyName": name, "PrintOnCheckName": name,
                                "Active": True, "Vendor1099": True})


def _customer(display: str, fqn: str) -> dict:
    return {"DisplayName": display, "CompanyName": fqn.split(":")[0], "FullyQualifiedName": fqn,
            "PrintOnCheckName": display, "Active": True, "Job": False, "BillWithParent": False,
            "Taxable": False, "Balance": 0, "BalanceWithJobs": 0}
