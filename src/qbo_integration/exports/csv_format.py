"""The fallback CSV: one row per timecard, in a layout QuickBooks time-import tools read.

Columns (PRD FR-8): Employee, Customer, Date, Start Time, End Time, Hours, Billable, then
Service Item, Break (min), Description and the CrewFlow Timecard ID for reference. Dates and times
are in the company's timezone, US style as QuickBooks Online shows them (MM/DD/YYYY, 8:00 AM).
Any cell that a spreadsheet would read as a formula is neutralised with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from zoneinfo import ZoneInfo

from qbo_integration.core_platform.views import TimecardView
from qbo_integration.csv_cells import neutralise

COLUMNS = ("Employee", "Customer", "Date", "Start Time", "End Time", "Hours", "Billable",
           "Service Item", "Break (min)", "Description", "CrewFlow Timecard ID")

def _time(dt, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).strftime("%I:%M %p").lstrip("0")


def _hours(h: Decimal | float) -> str:
    return f"{Decimal(str(h)).quantize(Decimal('0.01'))}"


def row_for(tc: TimecardView, tz: ZoneInfo) -> list[str]:
    start = tc.clock_in.astimezone(tz)
    item = tc.cost_code.name if tc.cost_code else ""
    cells: list[object] = [
        tc.worker.name, tc.project.name, start.strftime("%m/%d/%Y"), _time(tc.clock_in, tz),
        _time(tc.clock_out, tz), _hours(tc.total_hours), "Yes" if tc.billable else "No", item,
        tc.break_minutes or 0, (tc.notes or "")[:4000], tc.id,
    ]
    return [neutralise(c) for c in cells]


def render(timecards: Iterable[TimecardView], timezone: str) -> bytes:
    """UTF-8 with a BOM (Excel opens it right), CRLF line ends as RFC 4180 says."""
    tz = ZoneInfo(timezone)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for tc in timecards:
        writer.writerow(row_for(tc, tz))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
