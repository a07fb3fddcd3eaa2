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
from enum import Enum, StrEnum
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


class Unread(Enum):
    """The timecard was not read from Core (a caller that shows the row alone): nothing is assumed of it."""

    UNREAD = "unread"


def _latest(*times: datetime | None) -> datetime | None:
    found = [t for t in times if t is not None]
    return max(found) if found else None


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
    """A row refused for good (mapping, data, the company's books): it goes once someone acts."""
    message = (r.last_error or "QuickBooks refused it").rstrip(". ")
    if r.last_error_code == policy.BOOKS_CLOSED:
        through = f" through {_day(f.close_date)}" if f.close_date else ""
        return Explained(SyncState.NOT_SENT, f"Not sent: the books are closed{through} — export CSV or sync once "
                         "reopened", actions=(Action.EXPORT_CSV, Action.RETRY_NOW))
    actions = (Action.FIX_MAPPING, Action.RETRY_NOW) if r.error_kind == Kind.MAPPING else (Action.RETRY_NOW,)
    # "<what is wrong>. <what to do>" (mapping's FieldError message and fix) reads "<wrong> — <do>"
    return Explained(SyncState.NEEDS_YOU, f"Needs you: {message.replace('. ', ' — ', 1)}", actions=actions)


def _gone_from_core(r: Any, tc: TimecardView | None | Unread) -> str | None:
    """A row still wanting a create or an update for a timecard Core no longer has approved (no event yet):
    the next job sends nothing of it, or removes the record (returns the status words, else None)."""
    if tc is Unread.UNREAD or r.operation not in (Op.CREATE, Op.UPDATE) or (tc is not None and tc.status == "approved"):
        return None
    return "deleted" if tc is None else tc.status


def _confirming(r: Any, f: CompanyFacts, now: datetime, held: tuple[Action, ...]) -> Explained | None:
    """A create whose answer was lost is looked up, never sent again (sync.lifecycle): until when, as health
    counts it (sync.waits: the settle bound, the row's next try, an open breaker's end, the latest of them)."""
    if r.operation != Op.SETTLE or not r.pending_op:
        return None
    breaker_until = f.breaker_reopens_at if f.breaker == "open" else None
    until = _latest(outcome.unknown_for_sure_at(r), r.next_attempt_at, breaker_until)
    attempt = _at(r.pending_since, f, now)
    if until is not None and until > now:
        return Explained(SyncState.WAITING, f"Waiting: QuickBooks may already have the {attempt} attempt; "
                         f"confirming by {_at(until, f, now)}, nothing to do", until, held)
    return Explained(SyncState.WAITING, f"Waiting: checking with QuickBooks whether the {attempt} attempt landed, "
                     "nothing to do", r.next_attempt_at, held)


def _to_send(r: Any, f: CompanyFacts, now: datetime, held: tuple[Action, ...], op: str) -> Explained:
    """A row that goes by itself (pending, or a scheduled retry), in sync.stats.reason_of's order; `op` is
    what its next job does."""
    what = _what(op)
    if not f.connected:
        return Explained(SyncState.NEEDS_YOU, f"Needs you: QuickBooks is not connected — reconnect, then {what} goes",
                         actions=(Action.RECONNECT, *held))
    if not f.live:
        return Explained(SyncState.NOT_SENT, f"Not sent: live sync is off — turn it on and {what} goes",
                         actions=(Action.TURN_ON_LIVE_SYNC, *held))
    confirming = _confirming(r, f, now, held)
    if confirming is not None:
        return confirming
    due = r.next_attempt_at
    if f.breaker == "open" and (f.breaker_reopens_at is None or due is None or due < f.breaker_reopens_at):
        until = f.breaker_reopens_at
        when = f", next try {_at(until, f, now)}" if until else ""
        return Explained(SyncState.WAITING, f"Waiting: QuickBooks calls are paused after repeated failures{when}",
                         until, (Action.RESET_BREAKER, *held))
    if r.state == State.FAILED:
        tries = f"try {(r.attempts or 0) + 1} of {policy.RETRIES.max_tries}"
        if r.pending_op:  # an update or delete whose answer was lost: it names the record, so it is just sent again
            return Explained(SyncState.WAITING, f"Waiting: QuickBooks' answer to {_what(r.pending_op)} sent at "
                             f"{_at(r.pending_since, f, now)} was lost; it is sent again at {_at(due, f, now)} "
                             f"({tries}), nothing to do", due, (Action.RETRY_NOW, *held))
        message = (r.last_error or "QuickBooks refused it").rstrip(". ")
        return Explained(SyncState.WAITING, f"Waiting: QuickBooks did not take it ({message}); {tries} at "
                         f"{_at(due, f, now)}", due, (Action.RETRY_NOW, *held))
    if r.error_kind == Kind.WAIT and due is not None and due > now:
        return Explained(SyncState.WAITING, f"Waiting: QuickBooks asked us to slow down, next try {_at(due, f, now)}",
                         due, held)
    if due is not None and due > now:
        return Explained(SyncState.WAITING, f"Waiting: {what} goes to QuickBooks at {_at(due, f, now)}", due, held)
    return Explained(SyncState.WAITING, f"Waiting: {what} is queued for QuickBooks now", due, held)


def explain(r: Any, f: CompanyFacts, *, timecard: TimecardView | None | Unread = Unread.UNREAD,
            now: datetime | None = None) -> Explained:
    """The timecard's state from its outbox row `r` (a TimecardSyncRecord, or None when it has none) and the
    timecard as Core has it now (None: deleted there). Rows that go by themselves are worded in the order
    sync.stats.reason_of classifies them, so a timecard's sentence and health's reason agree."""
    now = now or datetime.now(UTC)
    if r is None:
        return _no_row(None if timecard is Unread.UNREAD else timecard, f, now)
    held = (Action.OPEN_IN_QUICKBOOKS,) if r.qbo_id else ()
    if r.state == State.DEAD:
        message = (r.last_error or "no answer").rstrip(". ")
        return Explained(SyncState.NEEDS_YOU, f"Needs you: QuickBooks failed {r.attempts or 0} times ({message}) — "
                         "retry now", None, (Action.RETRY_NOW, *held))
    if r.state == State.FAILED and r.error_kind != Kind.TRANSIENT:  # refused: nothing goes until someone acts
        e = _failed(r, f, now)
        return Explained(e.state, e.sentence, e.until, (*e.actions, *held))
    if r.state == State.SYNCED:
        if r.qbo_id:
            return Explained(SyncState.IN_QUICKBOOKS,
                             f"In QuickBooks since {_at(r.synced_at, f, now)} (time entry {r.qbo_id})", None, held)
        if r.wanted == Wanted.SKIP:
            day = f" ({_day(f.sync_start_date)})" if f.sync_start_date else ""
            return Explained(SyncState.NOT_SENT, f"Not sent: dated before the sync start date{day}")
        if timecard is None:
            return Explained(SyncState.REMOVED, "Not in QuickBooks: the timecard was deleted in CrewFlow")
        return Explained(SyncState.REMOVED, "Not in QuickBooks: the timecard is no longer approved in CrewFlow")
    if r.state == State.IN_FLIGHT:
        since = _at(r.claimed_at, f, now)
        if r.operation == Op.SETTLE and r.pending_op:
            return Explained(SyncState.SENDING, f"Checking with QuickBooks now whether the "
                             f"{_at(r.pending_since, f, now)} attempt landed (since {since})", None, held)
        return Explained(SyncState.SENDING, f"Sending to QuickBooks now (since {since})", None, held)
    status = _gone_from_core(r, timecard)
    if status is not None and not r.qbo_id:
        return Explained(SyncState.NOT_SENT, f"Not sent: the timecard is {status} in CrewFlow; approved time goes "
                         "to QuickBooks")
    return _to_send(r, f, now, held, Op.DELETE if status is not None else r.operation)
