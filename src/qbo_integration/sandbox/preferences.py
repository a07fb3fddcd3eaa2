"""A company's Preferences as QBO serves them (GET /v3/company/{realm}/preferences), the few the sandbox
enforces, and the company time zone (CompanyInfo.DefaultTimeZone). Defaults keep every check open:
class and location tracking on, no closing date."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIME_ZONE = "America/Los_Angeles"

# What the admin API may change: section -> key -> type. A BookCloseDate of None removes the close date.
SETTABLE: dict[str, dict[str, type]] = {
    "AccountingInfoPrefs": {"BookCloseDate": str, "ClassTrackingPerTxn": bool, "ClassTrackingPerTxnLine": bool,
                            "TrackDepartments": bool, "DepartmentTerminology": str},
    "TimeTrackingPrefs": {"BillCustomers": bool, "MarkTimeEntriesBillable": bool, "ShowBillRateToAll": bool,
                          "UseServices": bool, "WorkWeekStartDate": str},
    "VendorAndPurchasesPrefs": {"BillableExpenseTracking": bool, "TrackingByCustomer": bool},
}


def default_preferences() -> dict[str, Any]:
    return {
        "AccountingInfoPrefs": {"TrackDepartments": True, "DepartmentTerminology": "Location",
                                "ClassTrackingPerTxnLine": False, "ClassTrackingPerTxn": True,
                                "CustomerTerminology": "Customers", "FirstMonthOfFiscalYear": "January",
                                "UseAccountNumbers": False, "TaxYearMonth": "January"},
        "ProductAndServicesPrefs": {"ForSales": True, "ForPurchase": True, "QuantityWithPriceAndRate": True,
                                    "QuantityOnHand": True},
        "SalesFormsPrefs": {"AllowDeposit": False, "AllowDiscount": True, "AllowEstimates": True,
                            "DefaultTerms": {"value": "3"}, "CustomTxnNumbers": False},
        "VendorAndPurchasesPrefs": {"TrackingByCustomer": True, "BillableExpenseTracking": True,
                                    "DefaultTerms": {"value": "3"}},
        "TimeTrackingPrefs": {"UseServices": True, "BillCustomers": True, "ShowBillRateToAll": False,
                              "WorkWeekStartDate": "Monday", "MarkTimeEntriesBillable": True},
        "TaxPrefs": {"UsingSalesTax": False},
        "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "OtherPrefs": {"NameValue": [{"Name": "SalesFormsPrefs.DefaultCustomerMessage", "Value": ""}]},
        "domain": "QBO", "sparse": False, "Id": "1", "SyncToken": "0",
    }


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"DefaultTimeZone {name!r} is not an IANA time zone") from None


def apply_admin_update(prefs: dict[str, Any], time_zone: str, body: dict[str, Any]) -> tuple[dict, str]:
    """(new preferences, new time zone) from an admin PUT; raises ValueError naming what is wrong."""
    out = copy.deepcopy(prefs)
    unknown = set(body) - set(SETTABLE) - {"DefaultTimeZone"}
    if unknown:
        raise ValueError(f"unknown preference sections: {sorted(unknown)}")
    if "DefaultTimeZone" in body:
        tz = body["DefaultTimeZone"]
        if not isinstance(tz, str):
            raise ValueError("DefaultTimeZone must be a string")
        zone(tz)
        time_zone = tz
    for section, values in body.items():
        if section == "DefaultTimeZone":
            continue
        if not isinstance(values, dict):
            raise ValueError(f"{section} must be an object")
        for key, value in values.items():
            kind = SETTABLE[section].get(key)
            if kind is None:
                raise ValueError(f"{section}.{key} cannot be set here")
            if key == "BookCloseDate" and value is None:
                out[section].pop(key, None)
                continue
            if not isinstance(value, kind):
                raise ValueError(f"{section}.{key} must be a {kind.__name__}")
            if key == "BookCloseDate":
                try:
                    date.fromisoformat(str(value))
                except ValueError:
                    raise ValueError(f"BookCloseDate {value!r} is not a date (YYYY-MM-DD)") from None
            out[section][key] = value
    out["SyncToken"] = str(int(out.get("SyncToken", "0")) + 1)
    return out, time_zone


def close_date(prefs: dict[str, Any]) -> str | None:
    return prefs["AccountingInfoPrefs"].get("BookCloseDate")


def class_tracking(prefs: dict[str, Any]) -> bool:
    return bool(prefs["AccountingInfoPrefs"].get("ClassTrackingPerTxn"))


def department_tracking(prefs: dict[str, Any]) -> bool:
    return bool(prefs["AccountingInfoPrefs"].get("TrackDepartments"))
