"""The company's books' rules applied to a TimeActivity (issue 15): the closing date, class and location
tracking. Test mapping, the dry run and the sync engine (before sending) check a payload here, and the
engine explains QuickBooks' own refusals (6210 "Account Period Closed" when our copy of the preferences
is stale) with the same words.

A timecard refused here is not retried: it fails with kind `validation` and a code of policy.BOOKS_CODES,
and is queued again by the directory import (directory/import_flow.refresh_books: preferences read again
at each import) once the rule that refused it no longer holds, or by the admin (Sync Now, retry).
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.clock import utc_now
from qbo_integration.connections import books as stored
from qbo_integration.connections.books import BookRules
from qbo_integration.mapping.timeactivity import FieldError
from qbo_integration.qbo import QboApi, QboError, Remedy
from qbo_integration.sync import policy

CLOSED_PREFIX = "QuickBooks books are closed"  # the console recognises a closed-period failure by it
CLOSED_FIX = "Export it as CSV, or sync it once the books reopen"
_DATE_RE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def message(error: FieldError) -> str:
    """One sentence pair for the outbox row and the audit log (as the engine words mapping errors)."""
    return f"{error.message}. {error.fix}."


def closed_error(close_date: date | None, day: str | None) -> FieldError:
    through = f"through {close_date.isoformat()}" if close_date else "for this timecard's date"
    what = f"this timecard ({day})" if day else "this timecard"
    return FieldError("TxnDate", f"{CLOSED_PREFIX} {through}: {what} cannot be sent", CLOSED_FIX, kind="books")


def class_off_error(ref: Any) -> FieldError:
    name = _ref_name(ref)
    return FieldError(
        "ClassRef", f"Class tracking is turned off in QuickBooks, but the mapping sends a class{name} with this timecard",
        "Turn on class tracking in QuickBooks (Settings → Account and settings → Advanced → Categories: Track classes, "
        "one to each transaction), or remove the class mapping in Mapping → Cost codes; then sync it again",
        kind="books")


def location_off_error(ref: Any) -> FieldError:
    name = _ref_name(ref)
    return FieldError(
        "DepartmentRef",
        f"Location tracking is turned off in QuickBooks, but the mapping sends a location{name} with this timecard",
        "Turn on location tracking in QuickBooks (Settings → Account and settings → Advanced → Categories: Track "
        "locations), or remove the project's location mapping in Mapping → Locations; then sync it again",
        kind="books")


def _ref_name(ref: Any) -> str:
    if isinstance(ref, dict):
        label = ref.get("name") or ref.get("value")
        return f" ('{label}')" if label else ""
    return ""


def _day(payload: dict[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(payload.get("TxnDate"))[:10])
    except ValueError:
        return None


def check(rules: BookRules, payload: dict[str, Any] | None) -> list[tuple[str, FieldError]]:
    """(policy code, error) for each rule of the books this TimeActivity breaks."""
    if not payload:
        return []
    out: list[tuple[str, FieldError]] = []
    day = _day(payload)
    if day is not None and rules.closed_on(day):
        out.append((policy.BOOKS_CLOSED, closed_error(rules.close_date, day.isoformat())))
    if payload.get("ClassRef") and not rules.class_tracking:
        out.append((policy.CLASS_TRACKING_OFF, class_off_error(payload.get("ClassRef"))))
    if payload.get("DepartmentRef") and not rules.department_tracking:
        out.append((policy.LOCATION_TRACKING_OFF, location_off_error(payload.get("DepartmentRef"))))
    return out


def field_errors(rules: BookRules, payload: dict[str, Any] | None) -> list[FieldError]:
    """Test mapping and the dry run: the books' errors alongside the mapping's."""
    return [e for _, e in check(rules, payload)]


def refusal(rules: BookRules, payload: dict[str, Any] | None) -> tuple[str, str] | None:
    """Before sending: (code, message) when the books refuse this TimeActivity (every broken rule named)."""
    found = check(rules, payload)
    if not found:
        return None
    return found[0][0], " ".join(message(e) for _, e in found)[:2000]


def is_closed_refusal(error: QboError | None) -> bool:
    """QuickBooks' answer for a write dated in a closed period (6210 "Account Period Closed", as integrators
    report it; also seen as 6200 and 5010): the client's resolution table decides."""
    return error is not None and error.resolution.remedy is Remedy.CLOSED_BOOKS


def explain(error: QboError | None, rules: BookRules, payload: dict[str, Any] | None,
            day: str | None) -> tuple[str, str] | None:
    """QuickBooks refused a write for a rule of the books: (code, our message), else None."""
    if error is None:
        return None
    if is_closed_refusal(error):
        close = rules.close_date
        if close is None or (day is not None and day > close.isoformat()):  # our copy is older than QBO's books
            found = _DATE_RE.findall(error.detail or "")
            close = date.fromisoformat(found[-1]) if found and (day is None or found[-1] >= day) else None
        return policy.BOOKS_CLOSED, message(closed_error(close, day))
    text = f"{error.message or ''} {error.detail or ''}".lower()
    if "track" in text and error.element == "ClassRef":
        return policy.CLASS_TRACKING_OFF, message(class_off_error((payload or {}).get("ClassRef")))
    if "track" in text and error.element == "DepartmentRef":
        return policy.LOCATION_TRACKING_OFF, message(location_off_error((payload or {}).get("DepartmentRef")))
    return None


async def rules_for(session: AsyncSession, company_id: uuid.UUID) -> BookRules:
    return await stored.get_rules(session, company_id)


async def fresh_if_closed(session: AsyncSession, qbo: QboApi, integration_id: uuid.UUID, company_id: uuid.UUID,
                          realm_id: str, rules: BookRules, days: list[date]) -> BookRules:
    """Our copy says some of `days` are closed: read QuickBooks' preferences again before saying so (the books
    may have reopened inside QuickBooks since the last import). Our copy stands when QuickBooks does not answer."""
    if rules.close_date is None or not any(rules.closed_on(d) for d in days):
        return rules
    try:
        fresh = await stored.read(qbo.company(company_id, realm_id), utc_now())
    except QboError:
        return rules
    await stored.store_rules(session, integration_id, company_id, fresh)
    return fresh
