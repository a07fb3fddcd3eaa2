"""A company's time zone, checked where Core's data enters.

Core stores the zone as free text. A value that is not an IANA zone ("Mountain", "", a path, a NUL
byte) must give an error a person can act on, not a ZoneInfoNotFoundError/ValueError from deep in
the outbox or the health code.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from qbo_integration.errors import Conflict


class BadCompanyTimezone(Conflict):
    code = "bad_company_timezone"


def company_zone(timezone: str | None, company_id: uuid.UUID | None = None) -> ZoneInfo:
    """The company's zone (UTC when Core has none); BadCompanyTimezone when Core's value is not a zone."""
    try:
        return ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        who = f"Company {company_id}" if company_id else "The company"
        raise BadCompanyTimezone(
            f"{who} has the time zone {timezone!r} in CrewFlow, which is not an IANA time zone; "
            "set it in CrewFlow's company settings (e.g. America/Denver)",
            details={"companyId": str(company_id) if company_id else None, "timezone": timezone},
        ) from exc


def day_bounds(start: date | None, end: date | None, tz: str) -> tuple[datetime | None, datetime | None]:
    """[start 00:00, end+1 00:00) in the company's timezone, as aware instants (a zone Core stores badly
    is a 409 naming it). The dates are bounded by the API (api/inputs.ApiDate), so end+1 exists."""
    zone = company_zone(tz)
    lo = datetime.combine(start, time.min, zone) if start else None
    hi = datetime.combine(end + timedelta(days=1), time.min, zone) if end else None
    return lo, hi
