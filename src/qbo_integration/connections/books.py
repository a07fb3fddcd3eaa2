"""The company's books' rules as QuickBooks' Preferences state them (issue 15): the closing date, and
whether class and location tracking are on. Read at connect and on each directory import, stored per
integration (`company_books`), and checked before a timecard is sent (mapping/books.py).

Until they are read (no row), nothing is refused before sending: QuickBooks' own answer decides.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.connections.models import CompanyBooks
from qbo_integration.qbo import CompanyClient
from qbo_integration.qbo.purpose import PREFERENCES, reading_for


@dataclass(frozen=True)
class BookRules:
    close_date: date | None = None  # AccountingInfoPrefs.BookCloseDate: nothing dated on or before it
    class_tracking: bool = True  # AccountingInfoPrefs.ClassTrackingPerTxn: off refuses ClassRef
    department_tracking: bool = True  # AccountingInfoPrefs.TrackDepartments: off refuses DepartmentRef
    read_at: datetime | None = None  # None: never read

    def closed_on(self, day: date) -> bool:
        return self.close_date is not None and day <= self.close_date


UNREAD = BookRules()


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def from_preferences(prefs: dict[str, Any], read_at: datetime) -> BookRules:
    """A missing flag counts as on: only what QuickBooks says is off is refused before sending."""
    acct = prefs.get("AccountingInfoPrefs")
    if not isinstance(acct, dict):
        acct = {}
    return BookRules(close_date=_date(acct.get("BookCloseDate")),
                     class_tracking=acct.get("ClassTrackingPerTxn") is not False,
                     department_tracking=acct.get("TrackDepartments") is not False, read_at=read_at)


async def read(client: CompanyClient, now: datetime) -> BookRules:
    """GET …/preferences (a network call: no transaction may be open)."""
    with reading_for(PREFERENCES):
        return from_preferences(await client.preferences(), now)


async def get_rules(session: AsyncSession, company_id: uuid.UUID) -> BookRules:
    row = (await session.execute(select(CompanyBooks).where(CompanyBooks.company_id == company_id))
           ).scalar_one_or_none()
    if row is None:
        return UNREAD
    return BookRules(row.book_close_date, row.class_tracking, row.department_tracking, row.read_at)


async def store_rules(session: AsyncSession, integration_id: uuid.UUID, company_id: uuid.UUID,
                      rules: BookRules) -> BookRules:
    """Store what was read; returns the rules stored before (UNREAD when none)."""
    before = await get_rules(session, company_id)
    values = {"book_close_date": rules.close_date, "class_tracking": rules.class_tracking,
              "department_tracking": rules.department_tracking, "read_at": rules.read_at}
    await session.execute(insert(CompanyBooks).values(integration_id=integration_id, company_id=company_id, **values)
                          .on_conflict_do_update(index_elements=[CompanyBooks.integration_id], set_=values))
    return before
