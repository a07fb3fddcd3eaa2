"""The decision table (qbo/resolution.py): every answer resolved as the old branches did, merged tables,
errors built by hand, and the call's may_have_landed on `error.resolution`."""

from __future__ import annotations

import itertools

import httpx
import pytest
import respx

from qbo_integration.qbo import (
    ErrorAction,
    LocalRateLimitedError,
    NotFoundError,
    QboError,
    RateLimitedError,
    TransientError,
    ValidationError,
)
from qbo_integration.qbo.errors import error_from_exception, error_from_fault
from qbo_integration.qbo.faults import FaultItem, ParsedFault
from qbo_integration.qbo.resolution import (
    READ_BY_ID,
    RESOLUTIONS,
    SERVER_ERROR,
    Answer,
    Cause,
    Code,
    Remedy,
    Status,
    resolve,
)

from .helpers import COMPANY, REALM, TA, api_url

_OAUTH_REFUSALS = {"invalid_client", "unauthorized_client", "invalid_request", "unsupported_grant_type",
                   "invalid_scope", "access_denied"}


def _branches_as_they_were(status: int | None, fault: ParsedFault) -> ErrorAction:
    """errors.classify before the table (1a71ac9): the oracle the table must agree with."""
    if fault.oauth_error:
        if fault.oauth_error == "invalid_grant":
            return ErrorAction.CONNECTION_LOST
        if status is not None and status >= 500:
            return ErrorAction.RETRY
        if status == 429:
            return ErrorAction.RATE_LIMITED
        if fault.oauth_error in _OAUTH_REFUSALS:
            return ErrorAction.VALIDATION
    codes = {i.code for i in fault.items if i.code}
    text = " ".join(f"{i.message or ''} {i.detail or ''}" for i in fault.items)
    ftype = (fault.fault_type or "").lower()
    if status == 429 or "3001" in codes or "ThrottleExceeded" in text:
        return ErrorAction.RATE_LIMITED
    if status == 401 or "3200" in codes:
        return ErrorAction.REFRESH
    if "account period closed" in text.lower():
        return ErrorAction.VALIDATION
    if "5010" in codes:
        return ErrorAction.STALE
    if status is not None and (status >= 500 or status == 408):
        return ErrorAction.RETRY
    if "10000" in codes or ftype == "systemfault":
        return ErrorAction.RETRY
    if status == 404:
        return ErrorAction.NOT_FOUND
    return ErrorAction.VALIDATION


STATUSES = [None, 200, 400, 401, 403, 404, 408, 422, 429, 500, 502, 503]
CODES = [None, "3001", "3200", "5010", "6210", "6200", "610", "10000", "2500", "3100"]
WORDS = ["", "message=ThrottleExceeded; errorCode=003001", "Account Period Closed", "Invalid Reference Id"]
TYPES = [None, "SystemFault", "ValidationFault", "AUTHENTICATION"]
OAUTH = ["invalid_grant", "invalid_client", "access_denied", "temporarily_unavailable"]


def _faults() -> list[ParsedFault]:
    one = [FaultItem(code, words) for code in CODES for words in WORDS]
    faults = [ParsedFault()]
    faults += [ParsedFault(t, (item,)) for t in TYPES for item in one]
    faults += [ParsedFault("ValidationFault", pair) for pair in itertools.permutations(one[::3], 2)]
    faults += [ParsedFault(oauth_error=e) for e in OAUTH]
    return faults


def test_the_table_decides_every_answer_as_the_branches_did():
    faults = _faults()
    checked = 0
    for status, fault in itertools.product(STATUSES, faults):
        res = resolve(Answer(status, fault))
        assert res.action == _branches_as_they_were(status, fault), (status, fault, res)
        # one answer on its own may have landed only when QBO failed after it could have applied it
        assert res.may_have_landed is (status is not None and status >= 500), (status, fault)
        checked += 1
    assert checked > 4_000


@pytest.mark.parametrize("exc, cause, landed", [
    (httpx.ConnectError("refused"), Cause.NETWORK_ERROR, False),  # never left
    (httpx.ConnectTimeout("t"), Cause.TIMEOUT, False),
    (httpx.PoolTimeout("t"), Cause.TIMEOUT, False),
    (httpx.ReadTimeout("t"), Cause.TIMEOUT, True),  # sent; the answer did not come
    (httpx.WriteTimeout("t"), Cause.TIMEOUT, True),
    (httpx.RemoteProtocolError("t"), Cause.NETWORK_ERROR, True),
    (httpx.ReadError("t"), Cause.NETWORK_ERROR, True),
])
def test_network_trouble_by_exception_class(exc, cause, landed):
    err = error_from_exception(exc)
    assert isinstance(err, TransientError) and err.resolution.action == ErrorAction.RETRY
    assert err.answered.cause == cause and err.answered.may_have_landed is landed
    assert err.message == f"{cause}: {type(exc).__name__}"  # "timeout: ReadTimeout", as before


def test_closed_books_throttles_and_stale_tokens_have_their_own_remedy():
    def fault(code: str, message: str) -> ParsedFault:
        return ParsedFault("ValidationFault", (FaultItem(code, message),))

    closed = error_from_fault(fault("6210", "Account Period Closed"), status=400)
    assert closed.resolution.action == ErrorAction.VALIDATION and closed.resolution.remedy == Remedy.CLOSED_BOOKS
    assert error_from_fault(fault("6200", "Some other words"), status=400).resolution.remedy == Remedy.CLOSED_BOOKS
    as_stale = error_from_fault(fault("5010", "Account Period Closed"), status=400)
    assert as_stale.resolution.remedy == Remedy.CLOSED_BOOKS  # the words decide, not the 5010
    stale = error_from_fault(fault("5010", "Stale Object Error"), status=400)
    assert stale.resolution.action == ErrorAction.STALE and stale.resolution.cause == Cause.STALE
    ref = error_from_fault(fault("610", "Object Not Found"), status=400)
    assert ref.resolution.action == ErrorAction.VALIDATION and ref.resolution.cause == Cause.OBJECT_NOT_FOUND
    assert "re-activate it there" in ref.resolution.message
    throttled = error_from_fault(fault("3001", "ThrottleExceeded"), status=400)
    assert throttled.resolution.remedy == Remedy.WAIT and throttled.retry_after == 60.0


def test_a_caller_changes_a_decision_by_merging_a_dict():
    business = ParsedFault("ValidationFault", (FaultItem("6000", "A business validation error"),))
    assert resolve(Answer(400, business)).remedy == Remedy.GIVE_UP
    assert resolve(Answer(400, business), RESOLUTIONS | {Code("6000"): SERVER_ERROR}).remedy == Remedy.RETRY
    # a merge replaces a key where it stands: a 5xx still wins over a 610 read by id, a 400 does not
    gone = ParsedFault("ValidationFault", (FaultItem("610", "Object Not Found"),))
    assert resolve(Answer(400, gone), READ_BY_ID).remedy == Remedy.NOT_FOUND
    assert resolve(Answer(500, gone), READ_BY_ID).remedy == Remedy.RETRY
    assert resolve(Answer(400, gone)).remedy == Remedy.GIVE_UP  # the defaults are untouched
    # a new key goes after the defaults: it cannot take over an answer they already decide
    assert resolve(Answer(429), RESOLUTIONS | {Status(429, 429): SERVER_ERROR}).remedy == Remedy.WAIT
    assert list(READ_BY_ID) == list(RESOLUTIONS)


@pytest.mark.parametrize("err, remedy, cause", [
    (ValidationError("Account Period Closed", code="6200"), Remedy.CLOSED_BOOKS, Cause.BOOKS_CLOSED),
    (QboError("Object Not Found", action=ErrorAction.VALIDATION, code="610"), Remedy.GIVE_UP, Cause.OBJECT_NOT_FOUND),
    (ValidationError("bad mapping"), Remedy.GIVE_UP, Cause.REFUSED),
    (RateLimitedError("ThrottleExceeded", code="3001"), Remedy.WAIT, Cause.THROTTLED),
    (LocalRateLimitedError("budget", code="budget"), Remedy.WAIT, Cause.THROTTLED),
    (TransientError("could not take the token refresh lock in time"), Remedy.RETRY, Cause.FAILED),
    (NotFoundError("gone"), Remedy.NOT_FOUND, Cause.NOT_FOUND),
])
def test_an_error_built_by_hand_keeps_its_action_and_reads_the_table_where_it_agrees(err, remedy, cause):
    assert err.resolution.remedy == remedy and err.resolution.cause == cause
    assert err.resolution.action == err._action  # the action it was raised with


def test_the_resolution_says_whether_the_call_may_have_landed_not_just_its_last_answer():
    err = error_from_fault(ParsedFault(items=(FaultItem("2020", "Required param missing"),)), status=400)
    assert err.answered.may_have_landed is False
    assert err.resolution.may_have_landed is True  # built outside the request loop: the safe guess
    err.may_have_landed = False
    assert err.resolution.may_have_landed is False


def test_resolved_by_is_the_same_error_when_the_table_agrees_else_a_new_one_with_the_same_facts():
    ref = error_from_fault(ParsedFault("ValidationFault", (FaultItem("610", "Object Not Found", "inactive", "X"),)),
                           status=400, intuit_tid="tid-1")
    ref.may_have_landed = False
    gone = ref.resolved_by(READ_BY_ID)
    assert isinstance(gone, NotFoundError) and gone.resolution.remedy == Remedy.NOT_FOUND
    assert (gone.code, gone.message, gone.detail, gone.element, gone.intuit_tid, gone.status) == \
        ("610", "Object Not Found", "inactive", "X", "tid-1", 400)
    assert gone.may_have_landed is True  # a new error, as the client's conversion always made
    other = error_from_fault(ParsedFault(items=(FaultItem("2500", "Invalid Reference Id"),)), status=400)
    assert other.resolved_by(READ_BY_ID) is other
    by_hand = TransientError("x")
    assert by_hand.resolved_by(READ_BY_ID) is by_hand
    read_first = QboError("Object Not Found", action=ErrorAction.VALIDATION, code="610")
    assert read_first.resolution.cause == Cause.OBJECT_NOT_FOUND
    assert isinstance(read_first.resolved_by(READ_BY_ID), NotFoundError)  # where the merge differs, it decides
    budget = LocalRateLimitedError("budget", code="budget")  # the merge says nothing new about it
    assert budget.resolved_by(READ_BY_ID) is budget


@respx.mock
async def test_a_write_error_says_it_may_have_landed_when_an_earlier_attempt_may_have(setup):
    api, _, _ = setup
    respx.post(api_url("timeactivity")).mock(side_effect=[
        httpx.Response(503), httpx.Response(400, json={"Fault": {"Error": [{"Message": "bad", "code": "2020"}]}}),
    ])
    with pytest.raises(QboError) as ei:
        await api.company(COMPANY, REALM).create_time_activity(TA["TimeActivity"], request_id="r-doubt")
    assert ei.value.answered.may_have_landed is False  # the last answer alone: a refusal
    assert ei.value.resolution.may_have_landed is True and ei.value.resolution.remedy == Remedy.GIVE_UP
