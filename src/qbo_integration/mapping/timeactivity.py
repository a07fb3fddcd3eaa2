"""The pure Timecard → QBO TimeActivity formatter: no database, no network, no clock.

Everything that decides *what* the payload says given already-resolved references lives here, so
the rules (TxnDate in the company's timezone, DST-correct offsets, breaks, Hours/Minutes fallback,
BillableStatus, Description limit, midnight crossings, zero-length time) are tested on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DESCRIPTION_LIMIT = 4000  # QBO rejects longer TimeActivity descriptions
MAX_SHIFT_HOURS = 24  # a longer "shift" is a forgotten clock-out, not work to bill


@dataclass(frozen=True)
class FieldError:
    field: str  # e.g. "EmployeeRef", "CustomerRef", "ItemRef", "StartTime"
    message: str  # what is wrong, in words an admin understands
    fix: str  # what to do about it
    kind: str = "mapping"  # "mapping" (fix the mapping) | "data" (fix the timecard)

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "fix": self.fix, "kind": self.kind}


class TimesLike(Protocol):
    """What the formatter needs from a timecard (a TimecardView fits)."""

    @property
    def clock_in(self) -> datetime: ...
    @property
    def clock_out(self) -> datetime: ...
    @property
    def break_minutes(self) -> int: ...
    @property
    def billable(self) -> bool: ...
    @property
    def notes(self) -> str | None: ...


@dataclass(frozen=True)
class TimecardTimes:
    """A plain TimesLike (tests, previews of unsaved timecards)."""

    clock_in: datetime
    clock_out: datetime
    break_minutes: int
    billable: bool
    notes: str | None


def ref(value: str | None, name: str | None = None) -> dict[str, str] | None:
    if not value:
        return None
    out = {"value": str(value)}
    if name:
        out["name"] = name
    return out


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _iso(dt: datetime, tz: ZoneInfo) -> str:
    """`2026-07-02T07:00:00-06:00`: the local wall time with the offset in force at that instant."""
    return _aware(dt).astimezone(tz).replace(microsecond=0).isoformat()


def company_zone(timezone: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return None


def txn_date(clock_in: datetime, timezone: str) -> str | None:
    """The clock-in date in the company's timezone (None when the timezone is unknown)."""
    tz = company_zone(timezone)
    return _aware(clock_in).astimezone(tz).date().isoformat() if tz else None


def _fmt_time(dt: datetime, tz: ZoneInfo) -> str:
    return _aware(dt).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def check_times(tc: TimesLike, timezone: str) -> list[FieldError]:
    """Data problems that make a timecard unsendable. Each names the field and the fix."""
    tz = company_zone(timezone)
    if tz is None:
        return [FieldError("TxnDate", f"The company's timezone {timezone!r} is not a known IANA timezone",
                           "Set the company's timezone in CrewFlow (e.g. America/Denver)", "data")]
    errors: list[FieldError] = []
    start, end = _aware(tc.clock_in), _aware(tc.clock_out)
    span = (end - start).total_seconds()
    if span < 0:
        errors.append(FieldError(
            "EndTime", f"Clock-out {_fmt_time(end, tz)} is before clock-in {_fmt_time(start, tz)}",
            "Correct the clock-out time on the timecard in CrewFlow and approve it again", "data"))
    elif span == 0:
        errors.append(FieldError(
            "EndTime", f"The timecard has zero length (clock-in and clock-out are both {_fmt_time(start, tz)})",
            "Correct the clock-out time in CrewFlow, or unapprove the timecard if no work was done", "data"))
    elif span > MAX_SHIFT_HOURS * 3600:
        errors.append(FieldError(
            "EndTime", f"The timecard lasts {span / 3600:.1f} hours (over {MAX_SHIFT_HOURS})",
            "Check for a missed clock-out and correct the timecard in CrewFlow", "data"))
    if tc.break_minutes < 0:
        errors.append(FieldError("BreakMinutes", f"The break is negative ({tc.break_minutes} minutes)",
                                 "Correct the break on the timecard in CrewFlow", "data"))
    elif span > 0 and tc.break_minutes * 60 >= span:
        errors.append(FieldError(
            "BreakMinutes",
            f"The break ({tc.break_minutes} min) is as long as or longer than the shift ({span / 60:.0f} min)",
            "Correct the break or the clock times on the timecard in CrewFlow", "data"))
    return errors


def worked_minutes(tc: TimesLike) -> int:
    """Exact worked minutes (clock_out - clock_in - break), rounded once to the nearest minute."""
    seconds = (_aware(tc.clock_out) - _aware(tc.clock_in)).total_seconds() - tc.break_minutes * 60
    return int((Decimal(str(seconds)) / 60).quantize(Decimal(1), rounding="ROUND_HALF_UP"))


def description(notes: str | None) -> str | None:
    text = (notes or "").strip()
    return text[:DESCRIPTION_LIMIT] if text else None


def missing_bill_rate(worker: str | None, project: str | None) -> FieldError:
    """QBO refuses Billable time without HourlyRate: the admin sets a rate or makes it non-billable."""
    where = f" (worker {worker}, project '{project}')" if worker and project else ""
    target = f"project '{project}' (worker {worker})" if worker and project else "the project"
    return FieldError("HourlyRate", f"Billable time needs an hourly rate{where}",
                      f"Set a rate for {target} or a default rate in Mapping → Rates, or mark the time non-billable")


def _amount(value: Decimal | float | int) -> int | float:
    d = Decimal(str(value))
    return int(d) if d == d.to_integral_value() else float(d)


def format_time_activity(
    tc: TimesLike,
    *,
    timezone: str,
    employee_ref: dict[str, str] | None,
    customer_ref: dict[str, str] | None,
    item_ref: dict[str, str] | None = None,
    class_ref: dict[str, str] | None = None,
    department_ref: dict[str, str] | None = None,
    hourly_rate: Decimal | float | int | None = None,
    cost_rate: Decimal | float | int | None = None,
    vendor_ref: dict[str, str] | None = None,
    map_start_end: bool = True,
) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """The exact TimeActivity body, or (None, errors). Missing refs are the caller's errors to
    report; this adds the data errors and the BillableStatus rules (a customer and a bill rate).

    `vendor_ref` instead of `employee_ref`: a subcontractor's time (NameOf Vendor + VendorRef)."""
    errors = check_times(tc, timezone)
    if employee_ref is None and vendor_ref is None:
        errors.append(FieldError("EmployeeRef", "The timecard has no QuickBooks employee",
                                 "Map the worker in Mapping → Workers"))
    if tc.billable and customer_ref is None:
        errors.append(FieldError("BillableStatus", "Billable time needs a QuickBooks customer",
                                 "Map the project to a customer in Mapping → Projects, or mark the time non-billable"))
    if tc.billable and hourly_rate is None:
        errors.append(missing_bill_rate(None, None))
    if errors:
        return None, errors
    tz = company_zone(timezone)
    assert tz is not None  # check_times reported it otherwise
    body: dict[str, Any] = ({"NameOf": "Vendor", "VendorRef": vendor_ref} if vendor_ref is not None
                            else {"NameOf": "Employee", "EmployeeRef": employee_ref})
    if customer_ref:
        body["CustomerRef"] = customer_ref
    if item_ref:
        body["ItemRef"] = item_ref
    if class_ref:
        body["ClassRef"] = class_ref
    if department_ref:
        body["DepartmentRef"] = department_ref
    body["TxnDate"] = _aware(tc.clock_in).astimezone(tz).date().isoformat()
    if map_start_end:
        body["StartTime"] = _iso(tc.clock_in, tz)
        body["EndTime"] = _iso(tc.clock_out, tz)
        body["BreakHours"], body["BreakMinutes"] = divmod(int(tc.break_minutes), 60)
    else:
        body["Hours"], body["Minutes"] = divmod(worked_minutes(tc), 60)
    body["BillableStatus"] = "Billable" if tc.billable else "NotBillable"
    if tc.billable and hourly_rate is not None:
        body["HourlyRate"] = _amount(hourly_rate)
    if cost_rate is not None:
        body["CostRate"] = _amount(cost_rate)
    desc = description(tc.notes)
    if desc:
        body["Description"] = desc
    return body, []
