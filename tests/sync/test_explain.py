"""The state in plain words (sync/story/explain.py), from an outbox row's facts alone: each sentence the
issue asks for, with its time in the company's zone and `until` as an instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from qbo_integration.sync import outcome
from qbo_integration.sync.story.explain import Action, CompanyFacts, SyncState, explain

NOW = datetime(2026, 3, 2, 21, 10, tzinfo=UTC)  # 14:10 in Denver
DENVER = CompanyFacts(zone=ZoneInfo("America/Denver"))


def _row(**kw):
    base = dict(state="synced", operation="none", qbo_id=None, wanted="present", pending_op=None, pending_since=None,
                pending_unknown_at=None, next_attempt_at=NOW, claimed_at=None, synced_at=None, error_kind=None,
                last_error=None, last_error_code=None, attempts=0)
    return SimpleNamespace(**{**base, **kw})


def test_in_quickbooks_since_with_its_time_entry():
    e = explain(_row(qbo_id="1482", synced_at=NOW - timedelta(minutes=8)), DENVER, now=NOW)
    assert (e.state, e.sentence, e.actions) == (SyncState.IN_QUICKBOOKS, "In QuickBooks since 14:02 (time entry 1482)",
                                                (Action.OPEN_IN_QUICKBOOKS,))


def test_an_unknown_outcome_waits_to_confirm_until_the_settle_bound():
    sent = NOW - timedelta(minutes=2)
    r = _row(state="pending", operation="settle", pending_op="create", pending_since=sent,
             pending_unknown_at=sent + timedelta(seconds=5))
    e = explain(r, DENVER, now=NOW)
    assert e.state == SyncState.WAITING and e.until == outcome.unknown_for_sure_at(r)
    assert e.sentence == (f"Waiting: QuickBooks may already have the 14:08 attempt; confirming by "
                          f"{e.until.astimezone(DENVER.zone):%H:%M}, nothing to do")
    later = explain(r, DENVER, now=e.until + timedelta(seconds=1))  # past the bound: the look-up is due
    assert later.sentence == "Waiting: checking with QuickBooks whether the 14:08 attempt landed, nothing to do"


def test_throttled_says_the_next_try():
    e = explain(_row(state="pending", operation="create", error_kind="wait", next_attempt_at=NOW + timedelta(minutes=5)),
                DENVER, now=NOW)
    assert (e.state, e.sentence) == (SyncState.WAITING, "Waiting: QuickBooks asked us to slow down, next try 14:15")


def test_an_unmapped_worker_needs_you():
    msg = ("Worker 'Tom Bennett' is not mapped to a QuickBooks employee. Map 'Tom Bennett' in Mapping → Workers, or "
           "import employees from QuickBooks.")
    e = explain(_row(state="failed", operation="create", error_kind="mapping", last_error=msg, last_error_code="mapping"),
                DENVER, now=NOW)
    assert e.state == SyncState.NEEDS_YOU and e.actions == (Action.FIX_MAPPING, Action.RETRY_NOW)
    assert e.sentence == ("Needs you: Worker 'Tom Bennett' is not mapped to a QuickBooks employee — Map 'Tom Bennett' "
                          "in Mapping → Workers, or import employees from QuickBooks")


def test_closed_books_are_not_sent():
    facts = CompanyFacts(zone=ZoneInfo("America/Denver"), close_date=date(NOW.year - 1, 10, 31))
    e = explain(_row(state="failed", operation="create", error_kind="validation", last_error_code="books_closed",
                     last_error="closed"), facts, now=NOW)
    assert e.state == SyncState.NOT_SENT and e.actions == (Action.EXPORT_CSV, Action.RETRY_NOW)
    assert e.sentence == (f"Not sent: the books are closed through Oct 31, {NOW.year - 1} — export CSV or sync once "
                          "reopened")


def test_an_open_breaker_says_when_calls_resume():
    facts = CompanyFacts(zone=ZoneInfo("America/Denver"), breaker="open",
                         breaker_reopens_at=NOW + timedelta(minutes=20))
    e = explain(_row(state="pending", operation="create"), facts, now=NOW)
    assert (e.state, e.until) == (SyncState.WAITING, NOW + timedelta(minutes=20))
    assert e.sentence == "Waiting: QuickBooks calls are paused after repeated failures, next try 14:30"


def test_a_transient_failure_says_which_try_and_when():
    e = explain(_row(state="failed", operation="create", error_kind="transient", attempts=1, last_error="HTTP 503.",
                     next_attempt_at=NOW + timedelta(minutes=1)), DENVER, now=NOW)
    assert e.sentence == "Waiting: QuickBooks did not take it (HTTP 503); try 2 of 6 at 14:11"


def test_dead_and_not_approved_and_live_sync_off():
    assert explain(_row(state="dead", attempts=5, last_error="HTTP 500"), DENVER, now=NOW).sentence == (
        "Needs you: QuickBooks failed 5 times (HTTP 500) — retry now")
    tc = SimpleNamespace(status="submitted", clock_in=NOW)
    assert explain(None, DENVER, timecard=tc, now=NOW).state == SyncState.NOT_SENT
    off = CompanyFacts(live=False)
    assert explain(_row(state="pending", operation="create"), off, now=NOW).sentence == (
        "Not sent: live sync is off — turn it on and it goes")
    assert explain(_row(state="synced"), DENVER, now=NOW).state == SyncState.REMOVED


def test_a_scheduled_retry_says_what_holds_it_before_its_time():
    """Fails on 8e2c027: a failed row said "try 2 of 6 at 14:11" with the breaker open until 14:30, or with
    QuickBooks disconnected, when no job sends it (sync.stats.reason_of: breaker_open, not_connected)."""
    r = _row(state="failed", operation="create", error_kind="transient", attempts=1, last_error="HTTP 503",
             next_attempt_at=NOW + timedelta(minutes=1))
    facts = CompanyFacts(zone=ZoneInfo("America/Denver"), breaker="open", breaker_reopens_at=NOW + timedelta(minutes=20))
    e = explain(r, facts, now=NOW)
    assert (e.sentence, e.until) == ("Waiting: QuickBooks calls are paused after repeated failures, next try 14:30",
                                     NOW + timedelta(minutes=20))
    e = explain(r, CompanyFacts(zone=ZoneInfo("America/Denver"), connected=False), now=NOW)
    assert (e.state, e.sentence) == (SyncState.NEEDS_YOU, "Needs you: QuickBooks is not connected — reconnect, "
                                     "then it goes")


def test_a_lookup_in_flight_says_it_is_checking_now():
    sent = NOW - timedelta(minutes=12)
    r = _row(state="in_flight", operation="settle", pending_op="create", pending_since=sent,
             pending_unknown_at=sent, claimed_at=NOW)
    e = explain(r, DENVER, now=NOW)
    assert (e.state, e.sentence) == (SyncState.SENDING, "Checking with QuickBooks now whether the 13:58 attempt "
                                     "landed (since 14:10)")
