"""The one decision per timecard, over every combination of its three facts."""

from __future__ import annotations

import itertools

import pytest

from qbo_integration.qbo import ErrorAction
from qbo_integration.qbo.errors import LocalRateLimitedError, make_error
from qbo_integration.sync import lifecycle
from qbo_integration.sync.lifecycle import Held, Op, Outstanding, Want
from qbo_integration.sync.states import Kind

WANTS = {"nothing": None, "v2 fp-a": Want(2, "fp-a"), "v2 unmapped": Want(2, None)}
HELDS = {"nothing": None, "v2 fp-a": Held("7", "0", 2, "fp-a"), "v1 fp-b": Held("7", "0", 1, "fp-b"),
         "v2 fp-b": Held("7", "0", 2, "fp-b"), "content unknown": Held("7", "0", None, None)}
OUTSTANDING = {"nothing": None, "create": Outstanding("create", "k:0:5", "fp-a"),
               "update": Outstanding("update", "u", "fp-a"), "delete": Outstanding("delete", "d")}

# (want, held, outstanding) -> decision. A create outstanding can only exist with nothing held; an
# update/delete only with a record held: the impossible combinations are decided too, conservatively.
EXPECTED: dict[tuple[str, str, str], Op] = {}
for w, hd, o in itertools.product(WANTS, HELDS, OUTSTANDING):
    if o == "create":
        EXPECTED[w, hd, o] = Op.SETTLE  # whatever Core wants: find the record first, never create next to it
    elif hd == "nothing":
        EXPECTED[w, hd, o] = Op.NONE if w == "nothing" else Op.CREATE
    elif w == "nothing":
        EXPECTED[w, hd, o] = Op.DELETE
    elif o in ("update", "delete") or hd == "content unknown":
        EXPECTED[w, hd, o] = Op.UPDATE  # QBO's content is unknown: write it
    elif w == "v2 fp-a":
        EXPECTED[w, hd, o] = Op.NONE if hd == "v2 fp-a" else Op.UPDATE  # content decides, not the version
    else:  # not mapped this time: the version decides
        EXPECTED[w, hd, o] = Op.NONE if hd in ("v2 fp-a", "v2 fp-b") else Op.UPDATE


@pytest.mark.parametrize(("want", "held", "outstanding"), sorted(EXPECTED))
def test_every_combination(want: str, held: str, outstanding: str) -> None:
    assert lifecycle.decide(WANTS[want], HELDS[held], OUTSTANDING[outstanding]) == EXPECTED[want, held, outstanding]


def test_the_table_covers_every_combination() -> None:
    assert len(EXPECTED) == len(WANTS) * len(HELDS) * len(OUTSTANDING) == 60


@pytest.mark.parametrize(("error", "kind"), [
    (make_error(ErrorAction.RETRY, "HTTP 503"), Kind.TRANSIENT),
    (make_error(ErrorAction.RATE_LIMITED, "429"), Kind.WAIT),  # pacing, whoever throttled
    (make_error(ErrorAction.VALIDATION, "bad ref"), Kind.VALIDATION),
    (make_error(ErrorAction.NOT_FOUND, "gone"), Kind.VALIDATION),
    (make_error(ErrorAction.STALE, "5010"), Kind.TRANSIENT),
    (make_error(ErrorAction.BREAKER_OPEN, "open"), Kind.WAIT),
    (make_error(ErrorAction.CONNECTION_LOST, "invalid_grant"), Kind.WAIT),
    (LocalRateLimitedError("budget", code="budget"), Kind.WAIT),
])
def test_each_failure_is_classified_once(error, kind: str) -> None:
    """Whatever the final error, an earlier attempt of the same call may have landed (the client retries
    it): the ledger entry stays until the outcome is settled."""
    assert lifecycle.classify(error) == lifecycle.Failure(kind, maybe_committed=True)


def test_a_mapping_failure_sent_nothing() -> None:
    assert lifecycle.classify(None, mapping=True) == lifecycle.Failure(Kind.MAPPING, False)


def test_a_lost_create_is_recognised_by_its_content() -> None:
    from qbo_integration.sync.sender import matches

    sent = {"TxnDate": "2026-03-02", "NameOf": "Employee", "EmployeeRef": {"value": "1", "name": "Emily"},
            "StartTime": "2026-03-02T07:00:00-07:00", "BreakHours": 0, "BreakMinutes": 30, "Description": ""}
    held = {"Id": "9", "SyncToken": "0", "TxnDate": "2026-03-02", "NameOf": "Employee",
            "EmployeeRef": {"value": "1"}, "StartTime": "2026-03-02T14:00:00Z", "BreakMinutes": "30"}
    assert matches(sent, held)  # same instant in another offset, a zero/empty field left out
    assert not matches(sent, {**held, "EmployeeRef": {"value": "2"}})
    assert not matches(sent, {**held, "BreakMinutes": 45})
    assert not matches(sent, {**held, "status": "Deleted"})
    assert not matches({**sent, "Description": "Framing"}, held)
