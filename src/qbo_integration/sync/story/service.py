"""Reading the sync story: one timecard's state and story (newest first, paged), the timecards found by
worker, project, date or state, and the state in words of many timecards at once (dead letters, dry run).
Read-only: nothing here changes a row."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.connections import books as company_books
from qbo_integration.connections.service import get_integration, is_connected
from qbo_integration.core_platform import joins
from qbo_integration.core_platform.gateway import CoreGateway, require_company
from qbo_integration.core_platform.views import CompanyView, TimecardView
from qbo_integration.errors import NotFound, Unprocessable
from qbo_integration.sync import outbox_repository
from qbo_integration.sync.models import TimecardSyncRecord as Row
from qbo_integration.sync.states import State
from qbo_integration.sync.story import repository
from qbo_integration.sync.story.explain import CompanyFacts, Explained, SyncState, explain
from qbo_integration.sync.story.models import StoryKind
from qbo_integration.sync.story.models import TimecardSyncEvent as Event

# Outbox states a timecard in each SyncState can have (explain decides exactly; the finder narrows by these).
_MAY_BE: dict[SyncState, tuple[tuple[State, ...], bool]] = {
    SyncState.IN_QUICKBOOKS: ((State.SYNCED,), False),
    SyncState.REMOVED: ((State.SYNCED,), False),
    SyncState.SENDING: ((State.IN_FLIGHT,), False),
    SyncState.WAITING: ((State.PENDING, State.IN_FLIGHT, State.FAILED), True),
    SyncState.NEEDS_YOU: ((State.PENDING, State.FAILED, State.DEAD), True),
    SyncState.NOT_SENT: ((State.SYNCED, State.PENDING, State.FAILED), True),
}
FIND_SCAN = 2000  # timecards looked at per finder page at most (a state filter may skip many)


async def company_facts(session: AsyncSession, qbo: Any, company: CompanyView) -> CompanyFacts:
    """What the company has that decides a timecard's state (the breaker from the QBO client, if given)."""
    integration = await get_integration(session, company.id)
    rules = await company_books.get_rules(session, company.id)
    breaker = await qbo.breaker_state(company.id) if qbo is not None and integration is not None else None
    return CompanyFacts(zone=company.zone, connected=is_connected(integration),
                        live=bool(integration is not None and integration.enabled),
                        breaker=breaker.state if breaker else "closed",
                        breaker_reopens_at=breaker.reopens_at if breaker else None, close_date=rules.close_date,
                        sync_start_date=integration.sync_start_date if integration else None)


async def explain_many(session: AsyncSession, qbo: Any, company_id: uuid.UUID, timecard_ids: list[uuid.UUID],
                       now: datetime | None = None) -> dict[uuid.UUID, Explained]:
    """The state in words of each of these timecards (the same sentence wherever a timecard is shown)."""
    company = await require_company(session, company_id)
    facts = await company_facts(session, qbo, company)
    rows = await outbox_repository.rows_by_timecard(session, company_id, timecard_ids)
    cards = await CoreGateway(session).get_timecards(timecard_ids)
    return {t: explain(rows.get(t), facts, timecard=cards.get(t), now=now) for t in timecard_ids}


# ------------------------------------------------------------------------------------ words

def _hours(h: Any) -> str:
    return f"{float(h):g} h"


def words_of(tc: TimecardView, zone: ZoneInfo) -> dict[str, Any]:
    day = tc.clock_in.astimezone(zone).date().isoformat()
    return {"worker": tc.worker.name, "project": tc.project.name, "date": day, "hours": float(tc.total_hours),
            "status": tc.status, "version": tc.version,
            "label": f"{tc.worker.name} · {tc.project.name} · {day} · {_hours(tc.total_hours)}"}


def _local(at: str | None, zone: ZoneInfo) -> str | None:
    return datetime.fromisoformat(at).astimezone(zone).strftime("%b %-d %H:%M") if at else None


def _field_words(fields: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """A version's fields as a person compares them (names, local times, the date)."""
    clock_in = fields.get("clockIn")
    return {"date": datetime.fromisoformat(clock_in).astimezone(zone).date().isoformat() if clock_in else None,
            "clockIn": _local(clock_in, zone), "clockOut": _local(fields.get("clockOut"), zone),
            "breakMinutes": fields.get("breakMinutes"), "hours": fields.get("hours"),
            "worker": (fields.get("worker") or {}).get("name"), "project": (fields.get("project") or {}).get("name"),
            "costCode": (fields.get("costCode") or {}).get("name"), "billable": fields.get("billable"),
            "notes": fields.get("notes"), "status": fields.get("status")}


def changes(newer: dict[str, Any], older: dict[str, Any] | None, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Field by field, what a version changed from the one before it."""
    if older is None:
        return []
    a, b = _field_words(older, zone), _field_words(newer, zone)
    return [{"field": k, "from": a[k], "to": b[k]} for k in b if a.get(k) != b[k]]


def _until(facts: dict[str, Any], zone: ZoneInfo) -> str:
    return _local(facts.get("until"), zone) or "further notice"


WAIT_WORDS = {"throttled": "QuickBooks asked us to slow down; next try {until}",
              "confirming": "QuickBooks may already have it; confirming by {until}",
              "retry": "QuickBooks did not take it; retry at {until}",
              "breaker_open": "QuickBooks calls are paused (circuit breaker open) until {until}",
              "connection_lost": "QuickBooks is not connected; waiting for a reconnect",
              "paused": "Paused until {until}"}
ADMIN_WORDS = {"sync_now": "Sync Now", "requeue": "Tried again from the first attempt",
               "requeue_dead": "Dead letter re-queued", "requeue_mapping": "Re-queued after a mapping change",
               "requeue_directory": "Re-queued: QuickBooks' employees, customers or items changed",
               "requeue_books_reopened": "Re-queued: the books no longer refuse it",
               "drift_push": "Drift resolved: CrewFlow's version sent again",
               "drift_accept": "Drift resolved: QuickBooks' version kept", "drift_dismiss": "Drift finding dismissed",
               "export_csv": "Exported in the fallback CSV"}


def describe(e: Event, zone: ZoneInfo, previous_fields: dict[str, Any] | None) -> str:
    """One line a person reads for a story row."""
    f = e.facts or {}
    if e.kind == StoryKind.VERSION:
        if e.code == "deleted":
            return "Deleted in CrewFlow"
        changed = changes(f.get("fields") or {}, previous_fields, zone)
        what = "; ".join(f"{c['field']} {c['from']} → {c['to']}" for c in changed)
        return f"Version {f.get('version')} ({e.code})" + (f": {what}" if what else "")
    if e.kind == StoryKind.DECISION:
        return f"Decided: {f.get('operation')} — {f.get('reason')}"
    if e.kind == StoryKind.ATTEMPT:
        op = f.get("operation")
        if op == "lookup":
            found = f.get("found") or 0
            return (f"Looked up the create whose answer was lost: {'found time entry ' + str(f.get('qboId')) if found else 'not found'}"
                    f" ({f.get('outcome')})")
        size = f.get("batchSize") or 1
        sent = f"Sent {op}" + (f" in a batch of {size}" if size > 1 else "")
        if f.get("faultCode") or (f.get("httpStatus") or 200) >= 300 or f.get("outcome") == "failed":
            tid = f", intuit_tid {f['intuitTid']}" if f.get("intuitTid") else ""
            return (f"{sent}: QuickBooks answered {f.get('httpStatus') or 'nothing'} (fault {f.get('faultCode')}: "
                    f"{f.get('faultMessage')}{tid})")
        if op == "delete":
            return f"{sent}: QuickBooks removed time entry {f.get('qboId') or ''}".rstrip()
        return f"{sent}: QuickBooks holds time entry {f.get('qboId')} (SyncToken {f.get('syncToken')})"
    if e.kind == StoryKind.WAIT:
        return "Waiting: " + WAIT_WORDS.get(e.code, e.code + " until {until}").format(until=_until(f, zone))
    if e.code == "sync_now" and f.get("trigger") not in (None, "sync_now"):
        return f"Admin: sync requested ({str(f['trigger']).replace('_', ' ')})"
    return "Admin: " + ADMIN_WORDS.get(e.code, e.code.replace("_", " "))


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None


def event_out(e: Event, zone: ZoneInfo, previous_fields: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": str(e.id), "at": _iso(e.at), "kind": e.kind, "code": e.code,
           "summary": describe(e, zone, previous_fields), "facts": e.facts or {}, "requestId": e.request_id,
           "jobId": str(e.job_id) if e.job_id else None, "realmId": e.realm_id}
    if e.kind == StoryKind.VERSION:
        out["changes"] = changes((e.facts or {}).get("fields") or {}, previous_fields, zone)
    return out


# ------------------------------------------------------------------------------------ one timecard

def _story_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise Unprocessable("cursor is not one this route gave (pass nextCursor from the previous page)",
                            details=[{"field": "cursor", "problem": "not a cursor of this route"}])
    return int(cursor)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


async def timecard_sync(session: AsyncSession, qbo: Any, company_id: uuid.UUID, timecard_id: uuid.UUID, *,
                        cursor: str | None, limit: int, now: datetime | None = None) -> dict[str, Any]:
    """The timecard's state in words and its story, newest first. Another company's timecard (or an unknown
    one) is a 404; a timecard Core deleted is shown while we hold its row or story."""
    before = _story_cursor(cursor)
    company = await require_company(session, company_id)
    tc = await CoreGateway(session).get_timecard(timecard_id)
    if tc is not None and tc.company_id != company_id:
        raise NotFound("Timecard not found")
    rows = await outbox_repository.rows_by_timecard(session, company_id, [timecard_id])
    events = await repository.page(session, company_id, timecard_id, before=before, limit=limit + 1)
    if tc is None and not rows and not events and before is None:
        raise NotFound("Timecard not found")
    facts = await company_facts(session, qbo, company)
    row: Row | None = rows.get(timecard_id)
    more = len(events) > limit
    events = events[:limit]
    older_fields = await _older_versions(session, company_id, timecard_id, events)
    zone = facts.zone
    return {"timecardId": str(timecard_id), "timezone": zone.key,
            "timecard": words_of(tc, zone) if tc is not None else None,
            "sync": {**explain(row, facts, timecard=tc, now=now).as_dict(),
                     "qboId": row.qbo_id if row else None, "realmId": row.realm_id if row else None,
                     "syncedAt": _iso(row.synced_at) if row else None},
            "story": [event_out(e, zone, older_fields.get(e.id)) for e in events],
            "nextCursor": str(events[-1].id) if more and events else None}


async def _older_versions(session: AsyncSession, company_id: uuid.UUID, timecard_id: uuid.UUID,
                          events: list[Event]) -> dict[int, dict[str, Any] | None]:
    """For each version row of the page, the fields of the version before it (one query past the page)."""
    versions = [e for e in events if e.kind == StoryKind.VERSION]
    out: dict[int, dict[str, Any] | None] = {}
    for newer, older in zip(versions, versions[1:], strict=False):
        out[newer.id] = (older.facts or {}).get("fields")
    if versions:
        last = await repository.page(session, company_id, timecard_id, before=versions[-1].id, limit=1,
                                     kind=StoryKind.VERSION)
        out[versions[-1].id] = (last[0].facts or {}).get("fields") if last else None
    return out


# ------------------------------------------------------------------------------------ finding timecards

def _find_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        at, tid = base64.urlsafe_b64decode(cursor.encode() + b"==").decode().split("|")
        parsed = datetime.fromisoformat(at), uuid.UUID(tid)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Unprocessable("cursor is not one this route gave (pass nextCursor from the previous page)",
                            details=[{"field": "cursor", "problem": "not a cursor of this route"}]) from None
    if parsed[0].tzinfo is None:
        raise Unprocessable("cursor is not one this route gave", details=[{"field": "cursor", "problem": "bad"}])
    return parsed


def _make_cursor(at: datetime, tid: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{tid}".encode()).decode().rstrip("=")


async def find(session: AsyncSession, qbo: Any, company_id: uuid.UUID, *, worker: str | None, project: str | None,
               start: date | None, end: date | None, state: SyncState | None, cursor: str | None, limit: int,
               now: datetime | None = None) -> dict[str, Any]:
    """The company's timecards by worker or project name (parts of it), date range (the company's dates)
    and state, the latest first, each with its state in words. A page looks at FIND_SCAN timecards at
    most: with a state filter it may hold fewer than `limit` and still have a nextCursor."""
    after = _find_cursor(cursor)
    if start is not None and end is not None and end < start:
        raise Unprocessable("to is before from: give a date range that runs forward",
                            details=[{"field": "to", "problem": "before from"}])
    company = await require_company(session, company_id)
    facts = await company_facts(session, qbo, company)
    condition = outbox_repository.in_states(*_MAY_BE[state][:1], or_none=_MAY_BE[state][1]) if state is not None else None
    gw = CoreGateway(session)
    items: list[dict[str, Any]] = []
    scanned, last = 0, after
    while len(items) < limit and scanned < FIND_SCAN:
        want = min(FIND_SCAN - scanned, limit - len(items) if state is None else max(limit, 50))
        found = (await session.execute(joins.find_timecards(
            company_id, zone=facts.zone.key, worker=worker, project=project, start=start, end=end, after=last,
            row_timecard_id=Row.timecard_id, row_condition=condition, limit=want))).all()
        if not found:
            last = None
            break
        ids = [f.id for f in found]
        rows = await outbox_repository.rows_by_timecard(session, company_id, ids)
        cards = await gw.get_timecards(ids)
        for f in found:
            scanned += 1
            last = (f.clock_in, f.id)
            tc = cards.get(f.id)
            said = explain(rows.get(f.id), facts, timecard=tc, now=now)
            if tc is None or (state is not None and said.state != state):
                continue
            items.append({"timecardId": str(f.id), **words_of(tc, facts.zone), "sync": said.as_dict(),
                          "qboId": rows[f.id].qbo_id if f.id in rows else None})
            if len(items) == limit:
                break
        if len(found) < want and len(items) < limit:
            last = None
            break
    return {"items": items, "timezone": facts.zone.key,
            "nextCursor": _make_cursor(*last) if last is not None else None}
