"""Rules a company's own settings impose on a TimeActivity: the closing date, class and location
tracking, a bill rate for billable time, and times restated in the company's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from . import preferences as prefs
from .responses import QboFault, business
from .store import Realm

CLOSED_DETAIL = ("The account period has closed and the account books cannot be updated through the QBO Services "
                 "API. Please use the QBO website to make these changes.")


def account_period_closed(txn_date: str, closed_on: str) -> QboFault:
    # What integrators report QBO answering (code 6210, this Message and Detail, a ValidationFault that
    # names neither the date nor the closing date; one report shows 5010): not in Intuit's public list.
    del txn_date, closed_on
    return QboFault("6210", "Account Period Closed", CLOSED_DETAIL, "TxnDate")


def check_open(realm: Realm, txn_date: str | None) -> None:
    closed_on = prefs.close_date(realm.preferences)
    if closed_on and txn_date and date.fromisoformat(str(txn_date)) <= date.fromisoformat(closed_on):
        raise account_period_closed(str(txn_date), closed_on)


def check_tracking(realm: Realm, data: dict) -> None:
    if data.get("ClassRef") and not prefs.class_tracking(realm.preferences):
        raise business("Class tracking is turned off for this company (Preferences: "
                       "AccountingInfoPrefs.ClassTrackingPerTxn is false); remove ClassRef.", "ClassRef")
    if data.get("DepartmentRef") and not prefs.department_tracking(realm.preferences):
        raise business("Location tracking is turned off for this company (Preferences: "
                       "AccountingInfoPrefs.TrackDepartments is false); remove DepartmentRef.", "DepartmentRef")


def check_bill_rate(realm: Realm, data: dict) -> None:
    if not realm.billable_needs_hourly_rate:
        return
    if data.get("BillableStatus") == "Billable" and data.get("HourlyRate") is None:
        raise business("A billable time activity needs an hourly rate (HourlyRate).", "HourlyRate")


def normalise_times(realm: Realm, data: dict, start: datetime | None, end: datetime | None) -> None:
    """StartTime/EndTime restated in the company's time zone on TxnDate (the time of day kept, the
    length kept), as QBO answers them; a break longer than the shift is refused."""
    if not (start and end):
        return
    brk = int(data.get("BreakHours") or 0) * 60 + int(data.get("BreakMinutes") or 0)
    if brk * 60 > (end - start).total_seconds():
        raise business(f"The break ({brk} minutes) is longer than the time between StartTime and EndTime.",
                       "BreakMinutes")
    tz = prefs.zone(realm.time_zone)
    local = start.astimezone(tz)
    on_day = datetime.combine(date.fromisoformat(str(data["TxnDate"])), local.time().replace(tzinfo=None))
    new_start = on_day.replace(tzinfo=tz)
    new_end = (new_start.astimezone(UTC) + (end - start)).astimezone(tz)  # elapsed, not wall, time
    data["StartTime"] = new_start.isoformat(timespec="seconds")
    data["EndTime"] = new_end.isoformat(timespec="seconds")
