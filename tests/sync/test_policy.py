"""The outbox rules as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from qbo_integration.qbo import ErrorAction, QboError
from qbo_integration.qbo.errors import LocalRateLimitedError, make_error
from qbo_integration.sync import policy
from qbo_integration.sync.states import Kind

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_retry_schedule_is_1m_5m_15m_1h_4h_then_dead() -> None:
    waits = [policy.next_retry(n, NOW) for n in range(1, 7)]
    assert [w - NOW for w in waits[:5]] == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15),
                                           timedelta(hours=1), timedelta(hours=4)]
    assert waits[5] is None


def test_request_ids_fit_a_batch_and_are_never_repeated_across_writes() -> None:
    a, b = policy.new_request_id(), policy.new_request_id()
    assert a != b and len(a) <= 36  # a create's identity is kept in the ledger, never re-derived


def test_failure_kinds() -> None:
    assert policy.failure_kind(make_error(ErrorAction.VALIDATION, "bad")) == Kind.VALIDATION
    assert policy.failure_kind(make_error(ErrorAction.RETRY, "500")) == Kind.TRANSIENT
    assert policy.failure_kind(make_error(ErrorAction.RATE_LIMITED, "429")) == Kind.WAIT  # QBO: pacing
    assert policy.failure_kind(make_error(ErrorAction.BREAKER_OPEN, "open")) == Kind.WAIT
    assert policy.failure_kind(make_error(ErrorAction.CONNECTION_LOST, "gone")) == Kind.WAIT
    assert policy.failure_kind(LocalRateLimitedError("budget", code="budget")) == Kind.WAIT


def test_admin_message_keeps_qbos_words_and_adds_a_fix() -> None:
    err = QboError("Object Not Found", action=ErrorAction.VALIDATION, code="610",
                   detail="Something you're trying to use has been made inactive.", element="EmployeeRef",
                   intuit_tid="tid-1")
    msg = policy.admin_message(err)
    assert "Object Not Found" in msg and "made inactive" in msg and "EmployeeRef" in msg
    assert "re-activate it" in msg and "tid-1" in msg
