"""What the company's timecards wait for, and until when: health, the dashboard and Sync Now say it the
same way ("63 timecards waiting to confirm with QuickBooks after the outage at 14:01 — they go by 14:07").

Every open outbox row has one reason (stats.reason_of, first match wins); a reason that a person must act
on says so (`needs_you`), every other one says when it goes. A confirming row's deadline is sync.outcome's
rule (`unknown_for_sure_at`), read here, never restated.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.connections import books as company_books
from qbo_integration.connections.service import get_integration, is_connected
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.core_platform.zones import BadCompanyTimezone, company_zone
from qbo_integration.sync import outcome, stats
from qbo_integration.sync.models import TimecardSyncRecord as Row


class Reason(StrEnum):
    SENDING = "sending"  # in flight, or due: a job is on it
    CONFIRMING = "confirming"  # QBO may have the create whose answer was lost: looked up until it is sure
    THROTTLED = "throttled"  # QBO asked us to slow down (429): the next try after its pause
    BREAKER_OPEN = "breaker_open"  # QBO stopped answering: calls paused until the breaker lets one through
    RETRY_SCHEDULED = "retry_scheduled"  # QBO failed to take it: tried again on the retry schedule
    NOT_PICKED_UP = "not_picked_up"  # approved, no outbox row yet: the sweep picks it up
    LIVE_SYNC_OFF = "live_sync_off"
    NOT_CONNECTED = "not_connected"
    BOOKS_CLOSED = "books_closed"  # dated in QuickBooks' closed period (tracking off reads as refused)
    NEEDS_MAPPING = "needs_mapping"
    REFUSED = "refused"  # QBO refused the data
    DEAD = "dead"  # every retry failed
    SYNCED = "synced"  # (one timecard only) QBO holds what CrewFlow wants


NEEDS_YOU = frozenset({Reason.NOT_CONNECTED, Reason.BOOKS_CLOSED, Reason.NEEDS_MAPPING, Reason.REFUSED, Reason.DEAD})
# The order health and the dashboard list them in: what goes by itself first, then what needs someone.
ORDER = (Reason.CONFIRMING, Reason.THROTTLED, Reason.BREAKER_OPEN, Reason.RETRY_SCHEDULED, Reason.SENDING,
         Reason.NOT_PICKED_UP, Reason.LIVE_SYNC_OFF, Reason.NOT_CONNECTED, Reason.BOOKS_CLOSED,
         Reason.NEEDS_MAPPING, Reason.REFUSED, Reason.DEAD)


@dataclass(frozen=True)
class Context:
    """What a row's reason and words depend on besides the row."""

    now: datetime
    connected: bool
    enabled: bool
    breaker_until: datetime | None  # the breaker is open until then
    zone: ZoneInfo
    close_date: date | None = None  # QuickBooks' books are closed through this date
    sweep_minutes: int = 15
    books_read: bool = True  # False: close_date is read when a books_closed line needs it (company_waits)

    def shape(self) -> dict[str, bool]:
        """Which of stats' prepared statements classifies rows in this context."""
        return {"connected": self.connected, "enabled": self.enabled, "breaker": self.breaker_until is not None}

    def params(self, company_id: uuid.UUID, timecard_ids: list[uuid.UUID] | None = None) -> dict[str, Any]:
        return stats.waiting_params(company_id, self.now, self.breaker_until, timecard_ids)

    def next_sweep(self) -> datetime:
        """The sweep runs every `sweep_minutes` minutes of the hour, at :20 seconds (sync/tasks.py)."""
        every = max(1, min(60, self.sweep_minutes))
        base = self.now.astimezone(UTC).replace(second=20, microsecond=0)
        at = base.replace(minute=(base.minute // every) * every)
        while at <= self.now:
            minute = at.minute + every
            at = (at.replace(minute=0) + timedelta(hours=1)) if minute >= 60 else at.replace(minute=minute)
        return at


def breaker_end(breaker: Any) -> datetime | None:
    """Until when an open breaker holds the company's calls (None: it lets them through)."""
    return breaker.reopens_at if breaker is not None and breaker.state == "open" else None


async def read_context(session: AsyncSession, qbo: Any, company_id: uuid.UUID, now: datetime, *,
                       breaker: Any = None, sweep_minutes: int = 15) -> Context:
    """The context of a company now: its connection, its breaker (read from `qbo` unless given), its zone
    and its books' closing date."""
    integration = await get_integration(session, company_id)
    company = await CoreGateway(session).get_company(company_id)
    try:
        zone = company_zone(company.timezone, company_id) if company else ZoneInfo("UTC")
    except BadCompanyTimezone:
        zone = ZoneInfo("UTC")
    if breaker is None and qbo is not None:
        try:
            breaker = await qbo.breaker_state(company_id)
        except (RedisError, OSError):  # Redis down: the answer still says what the rows wait for
            breaker = None
    rules = await company_books.get_rules(session, company_id)
    return Context(now=now, connected=integration is not None and is_connected(integration),
                   enabled=bool(integration and integration.enabled), breaker_until=breaker_end(breaker), zone=zone,
                   close_date=rules.close_date, sweep_minutes=sweep_minutes)


@dataclass(frozen=True)
class Wait:
    reason: Reason
    count: int
    since: datetime | None  # when it started (the attempt, the failure), where that helps
    until: datetime | None  # when it goes by itself; None: now (sending) or when someone acts
    message: str

    @property
    def needs_you(self) -> bool:
        return self.reason in NEEDS_YOU

    def as_dict(self) -> dict[str, Any]:
        return {"reason": str(self.reason), "count": self.count, "needsYou": self.needs_you,
                "since": _iso(self.since), "until": _iso(self.until), "message": self.message}


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None


def at_words(at: datetime, ctx: Context) -> str:
    """"14:07" today (in the company's zone), else "Dec 7 14:07": as a timecard's sentence has it
    (sync/story/explain.py)."""
    local = at.astimezone(ctx.zone)
    if local.date() == ctx.now.astimezone(ctx.zone).date():
        return f"{local:%H:%M}"
    return f"{local:%b} {local.day} {local:%H:%M}"


def day_words(day: date, ctx: Context) -> str:
    """"Oct 31", with the year when it is not this year's (as sync/story/explain.py words it)."""
    return f"{day:%b} {day.day}" + ("" if day.year == ctx.now.year else f", {day.year}")


# Each reason's line for n timecards of the company. Fields: {tc} "3 timecards", {they} "they go" / "it goes",
# {them} "them" / "it", {s} "s" for one, {since}, {until}, {closed}. One timecard's own sentence is
# sync/story/explain.py's (the same wherever a timecard is shown).
WORDS: dict[Reason, str] = {
    Reason.CONFIRMING: "{tc} waiting to confirm with QuickBooks after the outage at {since} — {they} by {until}. "
                       "Nothing to do.",
    Reason.THROTTLED: "{tc} waiting: QuickBooks asked us to slow down — next try by {until}. Nothing to do.",
    Reason.BREAKER_OPEN: "{tc} waiting: QuickBooks stopped answering, so calls are paused until {until} — {they} "
                         "then. Nothing to do.",
    Reason.RETRY_SCHEDULED: "{tc} waiting for a retry after QuickBooks did not take {them} — next try at {since}"
                            "{all_by}. Nothing to do.",
    Reason.SENDING: "{tc} being sent to QuickBooks now{by}.",
    Reason.NOT_PICKED_UP: "{tc} approved but not queued yet — picked up by {until} at the latest. Nothing to do.",
    Reason.LIVE_SYNC_OFF: "{tc} waiting: live sync is off — {they} once you turn it on (Test mode).",
    Reason.NOT_CONNECTED: "{tc} need{s} you: QuickBooks is not connected — reconnect, then {they} by {itself}.",
    Reason.BOOKS_CLOSED: "{tc} not sent: {closed} — export a CSV of {their} day{s_plural}, or sync once the books "
                         "reopen.",
    Reason.NEEDS_MAPPING: "{tc} need{s} you: a worker, project or cost code is not mapped — fix the mapping, then "
                          "{they} by {itself}.",
    Reason.REFUSED: "{tc} need{s} you: QuickBooks refused {them} — open one under Recent problems to see why.",
    Reason.DEAD: "{tc} need{s} you: not sent after every retry — try again under “Needs your attention”.",
}


def company_message(reason: Reason, n: int, since: datetime | None, until: datetime | None, ctx: Context) -> str:
    """A reason's line for `n` timecards of the company."""
    one = n == 1
    at = lambda t: at_words(t, ctx) if t else "soon"  # noqa: E731
    closed = (f"the books are closed through {day_words(ctx.close_date, ctx)}" if ctx.close_date
              else f"QuickBooks' books refuse {'it' if one else 'them'}")
    return WORDS[reason].format(
        tc=f"{n} timecard{'' if one else 's'}", they="it goes" if one else "they go", them="it" if one else "them",
        their="its" if one else "their", s="s" if one else "", s_plural="" if one else "s",
        itself="itself" if one else "themselves", since=at(since), until=at(until), closed=closed,
        all_by=f", all by {at(until)}" if until and since and until > since else "",
        by=f" (all by {at(until)})" if until else "")


def _confirming_deadline(pending_since: datetime | None, pending_unknown_at: datetime | None) -> datetime | None:
    return outcome.unknown_for_sure_at(Row(pending_since=pending_since, pending_unknown_at=pending_unknown_at))


def _latest(*times: datetime | None) -> datetime | None:
    found = [t for t in times if t is not None]
    return max(found) if found else None


def _earliest(*times: datetime | None) -> datetime | None:
    found = [t for t in times if t is not None]
    return min(found) if found else None


@dataclass
class _Group:
    count: int = 0
    since: datetime | None = None
    until: datetime | None = None


def _times(reason: Reason, g: Any, ctx: Context) -> tuple[datetime | None, datetime | None]:
    """(since, until) of one result row of stats.waiting_groups (or stats.timecard_reasons)."""
    first_at = getattr(g, "first_at", None) or getattr(g, "next_attempt_at", None)
    last_at = getattr(g, "last_at", None) or getattr(g, "next_attempt_at", None)
    changed = getattr(g, "first_changed", None) or getattr(g, "updated_at", None)
    match reason:
        case Reason.CONFIRMING:
            sure = _confirming_deadline(g.pending_since, g.pending_unknown_at)
            return g.pending_since, _latest(sure, last_at, ctx.breaker_until)
        case Reason.THROTTLED:
            return None, last_at
        case Reason.BREAKER_OPEN:
            return None, ctx.breaker_until
        case Reason.RETRY_SCHEDULED:
            return first_at, last_at
        case Reason.SENDING:
            return first_at, last_at if last_at is not None and last_at > ctx.now else None
        case Reason.NOT_PICKED_UP:
            return None, ctx.next_sweep()
    if reason in NEEDS_YOU:
        return changed, None
    return None, None


def _merge(groups: Iterable[tuple[Reason, int, datetime | None, datetime | None]], ctx: Context) -> list[Wait]:
    merged: dict[Reason, _Group] = {}
    for reason, n, since, until in groups:
        g = merged.setdefault(reason, _Group())
        g.count += n
        g.since = _earliest(g.since, since)
        g.until = _latest(g.until, until)
    return [Wait(r, merged[r].count, merged[r].since, merged[r].until,
                 company_message(r, merged[r].count, merged[r].since, merged[r].until, ctx))
            for r in ORDER if r in merged and merged[r].count]


async def company_waits(session: AsyncSession, ctx: Context, company_id: uuid.UUID, *,
                        timecard_ids: list[uuid.UUID] | None = None, unqueued: int = 0) -> list[Wait]:
    """One line per reason for the company's open timecards (or only `timecard_ids`), in ORDER.
    `unqueued`: approved timecards with no outbox row yet (health counts them)."""
    result = await session.execute(stats.waiting_groups(**ctx.shape(), of_timecards=timecard_ids is not None),
                                   ctx.params(company_id, timecard_ids))
    groups = []
    for g in result:
        reason = Reason(g.reason)
        since, until = _times(reason, g, ctx)
        groups.append((reason, int(g.n), since, until))
    if not ctx.books_read and any(g[0] == Reason.BOOKS_CLOSED for g in groups):
        ctx = replace(ctx, close_date=(await company_books.get_rules(session, company_id)).close_date, books_read=True)
    if unqueued:
        reason = Reason.NOT_CONNECTED if not ctx.connected else Reason.LIVE_SYNC_OFF if not ctx.enabled \
            else Reason.NOT_PICKED_UP
        groups.append((reason, unqueued, None, ctx.next_sweep() if reason == Reason.NOT_PICKED_UP else None))
    return _merge(groups, ctx)


@dataclass(frozen=True)
class TimecardWait:
    reason: Reason
    since: datetime | None
    until: datetime | None
    qbo_id: str | None = None  # the TimeActivity QuickBooks holds for it
    realm_id: str | None = None  # the realm that id belongs to

    @property
    def needs_you(self) -> bool:
        return self.reason in NEEDS_YOU

    def as_dict(self) -> dict[str, Any]:
        return {"reason": str(self.reason), "needsYou": self.needs_you, "since": _iso(self.since),
                "until": _iso(self.until)}


async def timecard_waits(session: AsyncSession, ctx: Context, company_id: uuid.UUID,
                         timecard_ids: list[uuid.UUID]) -> dict[uuid.UUID, TimecardWait]:
    """Each given timecard's reason now, counted as company_waits counts it (no outbox row: absent)."""
    if not timecard_ids:
        return {}
    out: dict[uuid.UUID, TimecardWait] = {}
    for r in await session.execute(stats.timecard_reasons(**ctx.shape()), ctx.params(company_id, timecard_ids)):
        reason = Reason(r.reason)
        if reason == Reason.SYNCED:
            since, until = r.synced_at, None
        else:
            since, until = _times(reason, r, ctx)
        out[r.timecard_id] = TimecardWait(reason, since, until, r.qbo_id, r.realm_id)
    return out


# What a Sync Now of the whole company tries again itself (service.prepare_whole_company): not "waiting".
RETRIED_BY_SYNC_NOW = frozenset({Reason.BOOKS_CLOSED, Reason.NEEDS_MAPPING, Reason.REFUSED})


async def after_sync_now(session: AsyncSession, qbo: Any, company_id: uuid.UUID,
                         timecard_ids: list[uuid.UUID] | None, now: datetime, *, sweep_minutes: int = 15) -> list[Wait]:
    """What a Sync Now just asked for (the given timecards, or the whole company) cannot send now, and when
    it goes: run after its re-queues, in its transaction. What it sends now is left out."""
    ctx = await read_context(session, qbo, company_id, now, sweep_minutes=sweep_minutes)
    found = await company_waits(session, ctx, company_id, timecard_ids=timecard_ids or None)
    skip = {Reason.SENDING} | (set() if timecard_ids else RETRIED_BY_SYNC_NOW)
    return [w for w in found if w.reason not in skip]


def needing_you(waits: Iterable[Wait]) -> int:
    return sum(w.count for w in waits if w.needs_you)


def waiting(waits: Iterable[Wait]) -> int:
    return sum(w.count for w in waits if not w.needs_you)
