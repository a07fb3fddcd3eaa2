"""The pure TimeActivity formatter: dates, DST offsets, breaks, durations, billable, description."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from qbo_integration.mapping.timeactivity import (
    DESCRIPTION_LIMIT,
    TimecardTimes,
    format_time_activity,
    worked_minutes,
)

EMP = {"value": "55", "name": "Emily Platt"}
CUST = {"value": "3", "name": "Cool Cars"}
DENVER = "America/Denver"
RATE = 65  # QBO refuses billable time without a bill rate


def tc(start: datetime, end: datetime, brk: int = 0, billable: bool = False, notes: str | None = None) -> TimecardTimes:
    return TimecardTimes(clock_in=start, clock_out=end, break_minutes=brk, billable=billable, notes=notes)


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def fmt(t: TimecardTimes, **kw):
    kw.setdefault("timezone", DENVER)
    kw.setdefault("employee_ref", EMP)
    kw.setdefault("customer_ref", CUST)
    kw.setdefault("hourly_rate", RATE)
    return format_time_activity(t, **kw)


def test_summer_day_uses_mdt_offset():
    # 07:00-15:30 local in July: MDT is UTC-6
    body, errors = fmt(tc(utc(2026, 7, 2, 13, 0), utc(2026, 7, 2, 21, 30), brk=30, billable=True,
                          notes="Framing, level 2"), item_ref={"value": "1", "name": "Hours"})
    assert errors == []
    assert body == {
        "NameOf": "Employee", "EmployeeRef": EMP, "CustomerRef": CUST, "ItemRef": {"value": "1", "name": "Hours"},
        "TxnDate": "2026-07-02", "StartTime": "2026-07-02T07:00:00-06:00", "EndTime": "2026-07-02T15:30:00-06:00",
        "BreakHours": 0, "BreakMinutes": 30, "BillableStatus": "Billable", "HourlyRate": RATE,
        "Description": "Framing, level 2",
    }


def test_winter_day_uses_mst_offset():
    body, errors = fmt(tc(utc(2026, 1, 12, 14, 0), utc(2026, 1, 12, 22, 0)))
    assert not errors
    assert body["StartTime"] == "2026-01-12T07:00:00-07:00"
    assert body["EndTime"] == "2026-01-12T15:00:00-07:00"
    assert body["BillableStatus"] == "NotBillable"


def test_txn_date_is_local_clock_in_date_not_utc_date():
    # 18:00 local on Mar 2 (MST) is 01:00 UTC on Mar 3
    body, _ = fmt(tc(utc(2026, 3, 3, 1, 0), utc(2026, 3, 3, 5, 0)))
    assert body["TxnDate"] == "2026-03-02"
    assert body["StartTime"] == "2026-03-02T18:00:00-07:00"


def test_midnight_crossing_keeps_clock_in_date_and_own_end_date():
    # 22:00 Jun 5 → 06:00 Jun 6 local (MDT)
    body, errors = fmt(tc(utc(2026, 6, 6, 4, 0), utc(2026, 6, 6, 12, 0), brk=45))
    assert not errors
    assert body["TxnDate"] == "2026-06-05"
    assert body["StartTime"] == "2026-06-05T22:00:00-06:00"
    assert body["EndTime"] == "2026-06-06T06:00:00-06:00"
    assert (body["BreakHours"], body["BreakMinutes"]) == (0, 45)


def test_overnight_dst_change_each_end_has_its_own_offset():
    # 2026-03-08 02:00 MST → MDT. Shift 22:00 Mar 7 (MST, -07) → 06:00 Mar 8 (MDT, -06) = 7 real hours.
    start = utc(2026, 3, 8, 5, 0)
    end = utc(2026, 3, 8, 12, 0)
    body, errors = fmt(tc(start, end), map_start_end=True)
    assert not errors
    assert body["StartTime"] == "2026-03-07T22:00:00-07:00"
    assert body["EndTime"] == "2026-03-08T06:00:00-06:00"
    hours_body, _ = fmt(tc(start, end), map_start_end=False)
    assert (hours_body["Hours"], hours_body["Minutes"]) == (7, 0)  # real elapsed time, not wall-clock 8h
    # Fall back: Nov 1 2026 02:00 MDT → 01:00 MST; 22:00 Oct 31 → 06:00 Nov 1 = 9 real hours
    fall, _ = fmt(tc(utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 13, 0)), map_start_end=False)
    assert (fall["Hours"], fall["Minutes"]) == (9, 0)
    fall_se, _ = fmt(tc(utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 13, 0)))
    assert fall_se["StartTime"] == "2026-10-31T22:00:00-06:00"
    assert fall_se["EndTime"] == "2026-11-01T06:00:00-07:00"


def test_hours_minutes_from_exact_span_not_rounded_total():
    # 7h 52m 40s minus 30 min break = 7h 22m 40s → 7h 23m (rounded once); total_hours 7.38 would give 7h 22.8m
    t = tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 20, 52, 40), brk=30)
    body, errors = fmt(t, map_start_end=False)
    assert not errors
    assert (body["Hours"], body["Minutes"]) == (7, 23)
    assert "StartTime" not in body and "BreakMinutes" not in body
    assert worked_minutes(t) == 443


def test_long_break_splits_into_hours_and_minutes():
    body, _ = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 23, 0), brk=75))
    assert (body["BreakHours"], body["BreakMinutes"]) == (1, 15)


def test_zero_length_is_a_data_error_not_a_payload():
    t0 = utc(2026, 5, 4, 13, 0)
    body, errors = fmt(tc(t0, t0))
    assert body is None
    assert [(e.field, e.kind) for e in errors] == [("EndTime", "data")]
    assert "zero length" in errors[0].message


def test_negative_length_is_a_data_error():
    body, errors = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 12, 0)))
    assert body is None
    assert errors[0].field == "EndTime" and errors[0].kind == "data"
    assert "before clock-in" in errors[0].message


def test_break_longer_than_shift_and_negative_break_are_data_errors():
    _, errors = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0), brk=60))
    assert [(e.field, e.kind) for e in errors] == [("BreakMinutes", "data")]
    _, errors = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0), brk=-5))
    assert [(e.field, e.kind) for e in errors] == [("BreakMinutes", "data")]


def test_over_24_hours_is_a_data_error():
    start = utc(2026, 5, 4, 13, 0)
    _, errors = fmt(tc(start, start + timedelta(hours=30)))
    assert errors and errors[0].field == "EndTime" and "30.0 hours" in errors[0].message


def test_billable_without_customer_is_refused():
    body, errors = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0), billable=True), customer_ref=None)
    assert body is None
    assert [e.field for e in errors] == ["BillableStatus"]


def test_hourly_rate_only_on_billable_time():
    t = tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0), billable=True)
    body, _ = fmt(t, hourly_rate=65)
    assert body["HourlyRate"] == 65
    body, _ = fmt(t, hourly_rate="72.50")
    assert body["HourlyRate"] == 72.5
    body, _ = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0)), hourly_rate=65)
    assert "HourlyRate" not in body


def test_billable_time_without_a_bill_rate_is_refused():
    # QBO refuses BillableStatus Billable without HourlyRate: it is a mapping error, not a request to send.
    body, errors = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0), billable=True), hourly_rate=None)
    assert body is None and [e.field for e in errors] == ["HourlyRate"]
    assert "Mapping → Rates" in errors[0].fix and "non-billable" in errors[0].fix
    body, errors = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0)), hourly_rate=None)
    assert errors == [] and "HourlyRate" not in body


def test_cost_rate_is_the_pay_rate_on_any_time():
    body, _ = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0)), cost_rate="31.50")
    assert body["CostRate"] == 31.5 and "HourlyRate" not in body
    body, _ = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0), billable=True), cost_rate=30)
    assert (body["HourlyRate"], body["CostRate"]) == (RATE, 30)
    body, _ = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0)))
    assert "CostRate" not in body


def test_a_subcontractor_goes_out_as_vendor_without_employee_ref():
    vendor = {"value": "7", "name": "Apex Electric LLC"}
    body, errors = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0)), employee_ref=None, vendor_ref=vendor)
    assert errors == []
    assert (body["NameOf"], body["VendorRef"]) == ("Vendor", vendor) and "EmployeeRef" not in body


def test_description_truncated_to_qbo_limit_and_blank_notes_omitted():
    body, _ = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0), notes="x" * 5000))
    assert len(body["Description"]) == DESCRIPTION_LIMIT == 4000
    body, _ = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0), notes="   "))
    assert "Description" not in body


def test_refs_class_and_department_and_missing_employee():
    body, _ = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0)), class_ref={"value": "500"},
                  department_ref={"value": "2", "name": "North"})
    assert body["ClassRef"] == {"value": "500"} and "ItemRef" not in body
    assert body["DepartmentRef"] == {"value": "2", "name": "North"}
    body, errors = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0)), employee_ref=None)
    assert body is None and errors[0].field == "EmployeeRef"


def test_unknown_timezone_is_a_data_error_and_naive_times_are_utc():
    _, errors = fmt(tc(utc(2026, 5, 4, 13, 0), utc(2026, 5, 4, 14, 0)), timezone="Mars/Olympus")
    assert errors[0].field == "TxnDate" and errors[0].kind == "data"
    body, _ = fmt(tc(datetime(2026, 5, 4, 13, 0), datetime(2026, 5, 4, 14, 0)), timezone="UTC")
    assert body["StartTime"] == "2026-05-04T13:00:00+00:00"
