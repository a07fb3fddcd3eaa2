"""Validation as QBO does it: required fields, live references, durations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from . import books
from .responses import QboFault, business, invalid, invalid_ref, not_found, required
from .store import Realm

TIME_ACTIVITY_FIELDS = (
    "NameOf", "EmployeeRef", "VendorRef", "OtherNameRef", "CustomerRef", "ItemRef", "ClassRef",
    "DepartmentRef", "PayrollItemRef", "ProjectRef", "TxnDate", "StartTime", "EndTime", "BreakHours",
    "BreakMinutes", "Hours", "Minutes", "BillableStatus", "HourlyRate", "CostRate", "Description",
    "Taxable", "HoursInEmployeeTimeZone", "TimeZone", "TransactionLocationType",
)
REFS = {"EmployeeRef": "Employee", "VendorRef": "Vendor", "CustomerRef": "Customer", "ItemRef": "Item",
        "ClassRef": "Class", "DepartmentRef": "Department"}
BILLABLE = ("Billable", "NotBillable", "HasBeenBilled")
DESCRIPTION_MAX = 4000


def _present(v: Any) -> bool:
    return v is not None and v != ""


def check_ref(realm: Realm, data: dict, field: str, entity: str) -> None:
    ref = data.get(field)
    if ref is None:
        return
    if not isinstance(ref, dict) or not _present(ref.get("value")):
        raise required(field, f"Required parameter {field}.value is missing in the request")
    rec = realm.get(entity, str(ref["value"]))
    if rec is None:
        raise invalid_ref(field, entity)
    if not rec.active:
        raise QboFault("610", "Object Not Found", not_found().error["Detail"], field)
    label = rec.data.get("FullyQualifiedName") or rec.data.get("DisplayName") or rec.data.get("Name")
    data[field] = {**ref, "value": rec.id, "name": label}


def _int(data: dict, field: str, lo: int, hi: int | None = None) -> None:
    v = data.get(field)
    if v is None:
        return
    if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v:
        raise invalid(field, f"{v!r} is not an integer")
    if v < lo or (hi is not None and v > hi):
        raise business(f"{field} must be between {lo} and {hi if hi is not None else 'unbounded'}", field)
    data[field] = int(v)


def _datetime(data: dict, field: str) -> datetime | None:
    v = data.get(field)
    if v is None:
        return None
    try:
        dt = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        raise invalid(field, f"{v} is not a valid date time") from None
    if dt.tzinfo is None:
        raise invalid(field, f"{v} has no UTC offset")
    return dt


def time_activity(realm: Realm, body: dict) -> dict:
    """Validated and normalised TimeActivity fields (raises QboFault)."""
    data = {k: body[k] for k in TIME_ACTIVITY_FIELDS if k in body}
    name_of = data.get("NameOf")
    if not _present(name_of):
        raise required("NameOf")
    if name_of not in ("Employee", "Vendor", "Other"):
        raise invalid("NameOf", f"{name_of} is not one of Employee, Vendor")
    person = {"Employee": "EmployeeRef", "Vendor": "VendorRef", "Other": "OtherNameRef"}[name_of]
    if not data.get(person):
        raise required(person)
    books.check_tracking(realm, data)
    for field, entity in REFS.items():
        check_ref(realm, data, field, entity)
    for field in ("Hours", "BreakHours"):
        _int(data, field, 0)
    for field in ("Minutes", "BreakMinutes"):
        _int(data, field, 0, 59)
    start, end = _datetime(data, "StartTime"), _datetime(data, "EndTime")
    has_hours = data.get("Hours") is not None or data.get("Minutes") is not None
    if not has_hours and not (start and end):
        raise required("Hours", "Required parameter Hours/Minutes or StartTime/EndTime is missing in the request")
    if start and end and end <= start:
        raise business("EndTime must be after StartTime", "EndTime")
    txn = data.get("TxnDate")
    if txn is None:
        data["TxnDate"] = realm.clock.today()
    else:
        try:
            date.fromisoformat(str(txn))
        except ValueError:
            raise invalid("TxnDate", f"{txn} is not a valid date") from None
    status = data.setdefault("BillableStatus", "NotBillable")
    if status not in BILLABLE:
        raise invalid("BillableStatus", f"{status} is not one of {', '.join(BILLABLE)}")
    if status == "Billable" and not data.get("CustomerRef"):
        raise business("A billable time activity must be linked to a customer.", "CustomerRef")
    books.check_bill_rate(realm, data)
    desc = data.get("Description")
    if desc is not None and len(str(desc)) > DESCRIPTION_MAX:
        raise QboFault("2050", "String length is either shorter or longer than supported by specification",
                       f"String length specified does not match the supported length. Min:0 Max:{DESCRIPTION_MAX} "
                       f"supported. Supplied length:{len(str(desc))}", "Description")
    for field in ("HourlyRate", "CostRate"):
        v = data.get(field)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise invalid(field, f"{v!r} is not a number")
    books.normalise_times(realm, data, start, end)
    data.setdefault("Taxable", False)
    data.setdefault("HourlyRate", 0)
    return data


def name_entity(realm: Realm, entity: str, body: dict, except_id: str | None = None) -> dict:
    """Employee, Customer, Vendor, Item, Class, Department: required names, duplicates, parents."""
    data = {k: v for k, v in body.items() if k not in ("Id", "SyncToken", "MetaData", "domain", "sparse")}
    if entity in ("Employee", "Customer", "Vendor"):
        display = data.get("DisplayName") or " ".join(
            str(data[k]) for k in ("GivenName", "FamilyName") if _present(data.get(k))) or data.get("CompanyName")
        if not _present(display):
            raise required("DisplayName", "Required parameter DisplayName or GivenName/FamilyName is missing")
        data["DisplayName"] = display
        data.setdefault("PrintOnCheckName", display)
        key_name = display
    else:
        if not _present(data.get("Name")):
            raise required("Name")
        key_name = data["Name"]
        if entity == "Item":
            data.setdefault("Type", "Service")
            if data["Type"] not in ("Service", "NonInventory", "Inventory", "Category", "Group"):
                raise invalid("Type", data["Type"])
    data.setdefault("Active", True)
    if entity in ("Customer", "Class", "Department", "Item"):
        fqn = key_name
        parent = data.get("ParentRef")
        if parent:
            check_ref(realm, data, "ParentRef", entity)
            fqn = f"{data['ParentRef']['name']}:{key_name}"
            if entity == "Customer":
                data.setdefault("Job", True)
                data["Level"] = fqn.count(":")
            elif entity in ("Class", "Department"):
                data[f"Sub{entity}"] = True
        elif entity == "Customer":
            data.setdefault("Job", False)
        data["FullyQualifiedName"] = fqn
        key_name = fqn
    if realm.name_taken(entity, key_name, except_id):  # type: ignore[arg-type]
        raise QboFault("6240", "Duplicate Name Exists Error",
                       "The name supplied already exists. : Another customer, vendor or employee is already "
                       f"using this name. Please use a different name. Name: {key_name}", "")
    return data
