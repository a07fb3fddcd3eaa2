"""Input types shared by every route's schema: text PostgreSQL can store, dates in a bounded range.

Used in request bodies and query models, so a bad value is a 422 naming the field (through the one
error format) instead of a database error after the handler has started working.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator

from qbo_integration.untrusted import unstorable_text_problem

# Wide enough for any timecard, audit row or export anyone asks for; narrow enough that a day (or a
# timezone offset) added to either end stays a valid date and instant.
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2099, 12, 31)


def _storable(value: str) -> str:
    problem = unstorable_text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _bounded(value: date) -> date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"must be a date between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}")
    return value


STORABLE = AfterValidator(_storable)
"""Put last in an Annotated string type, after its StringConstraints (before them, pydantic would check
the constraints after this validator, and strip_whitespace would not strip)."""

ApiDate = Annotated[date, AfterValidator(_bounded)]
"""A calendar date between MIN_DATE and MAX_DATE."""
