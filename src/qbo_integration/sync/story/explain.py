"""A timecard's sync state in plain words, with the time it changes: one function, `explain`, used wherever
the API shows a timecard (its sync page, the finder, dead letters, dry run, sync-status errors), so the same
sentence appears everywhere.

Inputs are facts already held: the timecard's outbox row (or None), the timecard as Core has it, and what
the company has (`CompanyFacts`: connection, live sync, breaker, the books' closing date, its time zone).
Times in `until` are instants; times inside the sentence are the company's local time (its time zone is
`CompanyFacts.zone`; the API says which in `timezone`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from qbo_integration.core_platform.views import TimecardView
from qbo_integration.sync import outcome, policy
from qbo_integration.sync.states import Kind, Op, State, Wanted


class SyncState(StrEnum):
    IN_QUICKBOOKS = "in_quickbooks"  # QuickBooks holds what CrewFlow wants
    REMOVED = "removed"  # not in QuickBooks, and CrewFlow wants it gone (unapproved, deleted)
    SENDING = "sending"  # a job holds it now
    WAITING = "waiting"  # it goes by itself: at `until`, or as soon as its turn comes
    NEEDS_YOU = "needs_you"  # a person must act (mapping, data, retries exhausted, reconnect)
    NOT_SENT = "not_sent"  # deliberately not sent (books closed, before the start date, not approved, live sync off)


class Action(StrEnum):
    OPEN_IN_QUICKBOOKS = "open_in_quickbooks"
    RETRY_NOW = "retry_now"  # POST sync-now with this timecard
    FIX_MAPPING = "fix_mapping"
    EXPORT_CSV = "export_csv"  # the fallback CSV of that day
    RECONNECT = "reconnect"
    TURN_ON_LIVE_SYNC = "turn_on_live_sync"
    RESET_BREAKER = "reset_breaker"


@dataclass(frozen=True)
class CompanyFacts:
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    connected: bool = True
    live: bool = True
    breaker: str = "closed"  # closed | open | half_open
    breaker_reopens_at: datetime | None = None
    close_date: date | None = None
    sync_start_date: date | None = None


@dataclass(frozen=True)
class Explained:
    state: SyncState
    sentence: str
    until: datetime | None = None
    actions: tuple[Action, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"state": str(self.state), "sentence": self.sentence,
                "until": self.until.astimezone(UTC).isoformat().replace("+00:00", "Z") if self.until else None,
                "actions": [str(a) for a in self.actions]}


def _at(t: datetime | None, f: CompanyFacts, now: datetime) -> str:
    """14:02 today, else Dec 5 14:02 (the company's local time)."""
    if t is None:
        return "an unknown time"
    local, today = t.astimezone(f.zone), now.astimezone(f.zone).date()
    clock = local.strftime("%H:%M")
    return clock if local.date() == today else f"{local.strftime('%b')} {local.day} {clock}"


def _day(d: date) -> str:
    return f"{d.strftime('%b')} {d.day}" + ("" if d.year == datetime.now(UTC).year else f", {d.year}")


def _what(op: str) -> str:
    words: dict[str, str] = {Op.UPDATE: "the edit", Op.DELETE: "the removal", Op.SETTLE: "the check"}
    return words.get(op, "it")


def _no_row(tc: TimecardView | None, f: CompanyFacts, now: datetime) -> Explained:
    if tc is None or tc.status != "approved":
        status = "deleted" if tc is None else tc.status
        return Explained(SyncState.NOT_SENT, f"Not sent: the timecard is {status} in CrewFlow; approved time goes "
                         "to QuickBooks")
    if not f.connected:
        return Explained(SyncState.NEEDS_YOU, "Needs you: QuickBooks is not connected — connect it",
                         actions=(Action.RECONNECT,))
    if not f.live:
        return Explained(SyncState.NOT_SENT, "Not sent: live sync is off — turn it on to send approved time",
                         actions=(Action.TURN_ON_LIVE_SYNC,))
    if f.sync_start_date is not None and tc.clock_in.astimezone(f.zone).date() < f.sync_start_date:
        return Explained(SyncState.NOT_SENT, f"Not sent: dated before the sync start date ({_day(f.sync_start_date)})")
    return Explained(SyncState.WAITING, "Waiting: approved and queued; it goes at the next check (every "
                     "few minutes), or now with Sync Now", actions=(Action.RETRY_NOW,))


def _failed(r: Any, f: CompanyFacts, now: datetime) -> Explained:
    message = (r.last_error or "QuickBooks refused it").rstrip(". ")
    if r.error_kind == Kind.TRANSIENT:
        return Explained(SyncState.WAITING, f"Waiting: QuickBooks did not take it ({message}); try "
                         f"{(r.attempts or 0) + 1} of {policy.RETRIES.max_tries} at {_at(r.next_attempt_at, f, now)}",
                         r.next_attempt_at, (Action.RETRY_NOW,))
    if r.last_error_code == policy.BOOKS_CLOSED:
        through = f" through {_day(f.close_date)}" if f.close_date else ""
        return Explained(SyncState.NOT_SENT, f"Not sent: the books are closed{through} — export CSV or sync once "
                         "reopened", actions=(Action.EXPORT_CSV, Action.RETRY_NOW))
    actions = (Action.FIX_MAPPING, Action.RETRY_NOW) if r.error_kind == Kind.MAPPING else (Action.RETRY_NOW,)
    # "<what is wrong>. <what to do>" (mapping's FieldError message and fix) reads "<wrong> — <do>"
    return Explained(SyncState.NEEDS_YOU, f"Needs you: {message.replace('. ', ' — ', 1)}", actions=actions)


def _pending(r: Any, f: CompanyFacts, now: datetime) -> Explained:
    what = _what(r.operation)
    if not f.connected:
        return Explained(SyncState.NEEDS_YOU, f"Needs you: QuickBooks is not connected — reconnect, then {what} goes",
                         actions=(Action.RECONNECT,))
    if f.breaker in ("open", "half_open"):
        until = f.breaker_reopens_at
        when = f", next try {_at(until, f, now)}" if until else ""
        return Explained(SyncState.WAITING, f"Waiting: QuickBooks calls are paused after repeated failures{when}",
                         until, (Action.RESET_BREAKER,))
    if not f.live:
        return Explained(SyncState.NOT_SENT, f"Not sent: live sync is off — turn it on and {what} goes",
                         actions=(Action.TURN_ON_LIVE_SYNC,))
    due = r.next_attempt_at
    if r.error_kind == Kind.WAIT and due is not None and due > now:
        return Explained(SyncState.WAITING, f"Waiting: QuickBooks asked us to slow down, next try {_at(due, f, now)}",
                         due)
    if due is not None and due > now:
        return Explained(SyncState.WAITING, f"Waiting: {what} goes to QuickBooks at {_at(due, f, now)}", due)
    return Explained(SyncState.WAITING, f"Waiting: {what} is queued for QuickBooks now", due)


def explain(r: Any, f: CompanyFacts, *, timecard: TimecardView | None = None, now: datetime | None = None) -> Explained:
    """The timecard's state from its outbox row `r` (a TimecardSyncRecord, or None when it has none)."""
    now = now or datetime.now(UTC)
    if r is None:
        return _no_row(timecard, f, now)
    held = (Action.OPEN_IN_QUICKBOOKS,) if r.qbo_id else ()
    if r.pending_op and r.state != State.DEAD:
        sure = outcome.unknown_for_sure_at(r)
        if sure is not None and sure > now:
            return Explained(SyncState.WAITING, f"Waiting: QuickBooks may already have the {_at(r.pending_since, f, now)} "
                             f"attempt; confirming by {_at(sure, f, now)}, nothing to do", sure, held)
        if r.state == State.PENDING or r.state == State.IN_FLIGHT:
            return Explained(SyncState.WAITING, f"Waiting: checking with QuickBooks whether the "
                             f"{_at(r.pending_since, f, now)} attempt landed, nothing to do", r.next_attempt_at, held)
    if r.state == State.IN_FLIGHT:
        return Explained(SyncState.SENDING, f"Sending to QuickBooks now (since {_at(r.claimed_at, f, now)})", None, held)
    if r.state == State.SYNCED:
        if r.qbo_id:
            return Explained(SyncState.IN_QUICKBOOKS,
                             f"In QuickBooks since {_at(r.synced_at, f, now)} (time entry {r.qbo_id})", None, held)
        if r.wanted == Wanted.SKIP:
            day = f" ({_day(f.sync_start_date)})" if f.sync_start_date else ""
            return Explained(SyncState.NOT_SENT, f"Not sent: dated before the sync start date{day}")
        return Explained(SyncState.REMOVED, "Not in QuickBooks: the timecard is no longer approved in CrewFlow")
    if r.state == State.DEAD:
        message = (r.last_error or "no answer").rstrip(". ")
        return Explained(SyncState.NEEDS_YOU, f"Needs you: QuickBooks failed {r.attempts or 0} times ({message}) — "
                         "retry now", None, (Action.RETRY_NOW, *held))
    if r.state == State.FAILED:
        e = _failed(r, f, now)
        return Explained(e.state, e.sentence, e.until, (*e.actions, *held))
    e = _pending(r, f, now)
    return Explained(e.state, e.sentence, e.until, (*e.actions, *held))
