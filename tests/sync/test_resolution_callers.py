"""The outbox's and the books' reading of a QBO error, from its resolution: the same decisions as the
`.action` branches they replace, over every answer tests/qbo/test_resolution.py enumerates."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from qbo_integration.mapping import books
from qbo_integration.qbo import ErrorAction, QboError
from qbo_integration.qbo.errors import error_from_fault
from qbo_integration.qbo.faults import FaultItem, ParsedFault
from qbo_integration.sync import policy, sender
from qbo_integration.sync.states import Kind
from tests.qbo.test_resolution import STATUSES, _faults

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _errors() -> list[QboError]:
    return [error_from_fault(fault, status=status, retry_after=7.0 if status == 429 else None)
            for status, fault in itertools.product(STATUSES, _faults())]


def _kind_as_it_was(action: ErrorAction) -> Kind:
    """policy.failure_kind at 906efe0."""
    if action in (ErrorAction.VALIDATION, ErrorAction.NOT_FOUND):
        return Kind.VALIDATION
    if action in (ErrorAction.CONNECTION_LOST, ErrorAction.BREAKER_OPEN, ErrorAction.RATE_LIMITED):
        return Kind.WAIT
    return Kind.TRANSIENT


_HINTS_AS_THEY_WERE = {  # policy._HINTS at 906efe0
    "610": "A referenced employee, customer, item or class is inactive or deleted in QuickBooks: "
    "re-activate it there or map this CrewFlow record to another one.",
    "2500": "A referenced QuickBooks record does not exist: check the employee/customer/item mapping.",
    "2020": "A field QuickBooks requires is missing: complete the mapping for this timecard.",
    "6000": "QuickBooks refused the time entry: correct the timecard or the mapping, then Sync Now.",
    "2050": "A text field is too long for QuickBooks: shorten the timecard notes, then Sync Now.",
}


def _message_as_it_was(error: QboError) -> str:
    """policy.admin_message at 906efe0."""
    parts = [error.message or "QuickBooks refused the request"]
    if error.detail and error.detail != error.message:
        parts.append(error.detail)
    if error.element:
        parts.append(f"(field: {error.element})")
    hint = _HINTS_AS_THEY_WERE.get(str(error.code or ""))
    if hint:
        parts.append(hint)
    if error.intuit_tid:
        parts.append(f"[intuit_tid {error.intuit_tid}]")
    return " ".join(parts)[:2000]


def test_the_outbox_reads_every_answer_as_the_action_branches_did():
    errors = _errors()
    assert len(errors) > 4_000
    for err in errors:
        action = err.resolution.action
        assert policy.failure_kind(err) == _kind_as_it_was(action), err
        wait = timedelta(seconds=err.retry_after if err.retry_after is not None else 60)
        assert policy.not_before(err, NOW) == (NOW + wait if action == ErrorAction.RATE_LIMITED else None), err
        assert policy.admin_message(err) == _message_as_it_was(err), err
        # an update or delete refused with 610 asks whether the record itself is gone, as before
        assert sender._object_not_found(err) == (
            action in (ErrorAction.NOT_FOUND, ErrorAction.VALIDATION) and str(err.code) == "610"), err


@pytest.mark.parametrize("code", sorted(_HINTS_AS_THEY_WERE))
def test_a_refusal_gets_the_hint_it_got_and_other_codes_none(code):
    err = error_from_fault(ParsedFault("ValidationFault", (FaultItem(code, "Refused", "words"),)), status=400)
    assert policy.admin_message(err) == f"Refused words {_HINTS_AS_THEY_WERE[code]}"
    for other in ("5010", "6210", "3001", "10000", "6240", None):
        err = error_from_fault(ParsedFault("ValidationFault", (FaultItem(other, "Refused", "words"),)), status=400)
        assert policy.admin_message(err) == "Refused words"


def _closed_as_it_was(err: QboError) -> bool:
    """books.is_closed_refusal at 906efe0: the first fault item's code or words."""
    text = f"{err.message or ''} {err.detail or ''}".lower()
    return str(err.code or "") in ("6200", "6210") or "account period closed" in text


def test_closed_books_are_read_from_the_table_and_agree_wherever_the_answer_is_a_refusal():
    """The two readings differ only where the table reads the answer as a throttle, an expired token, a
    server error, a timeout or a plain 404 (its own keys come first), or where the words are on another
    fault item than the first: the table decides, so a throttled write is never refused for the books."""
    for err in _errors():
        refusal = err.resolution.action == ErrorAction.VALIDATION
        first_item_only = len(err.errors) <= 1
        if refusal and first_item_only:
            assert books.is_closed_refusal(err) == _closed_as_it_was(err), err
    sandbox = error_from_fault(ParsedFault("ValidationFault", (FaultItem(
        "6210", "Account Period Closed", "The account period has closed.", "TxnDate"),)), status=400)
    in_a_batch = error_from_fault(ParsedFault("ValidationFault", (FaultItem("6210", "Account Period Closed"),)))
    assert books.is_closed_refusal(sandbox) and books.is_closed_refusal(in_a_batch)
    assert not books.is_closed_refusal(error_from_fault(ParsedFault(items=(FaultItem("6210"),)), status=429))
    assert not books.is_closed_refusal(None)
