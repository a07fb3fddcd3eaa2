"""Error classification: all three fault shapes, OAuth errors, status mapping."""

from __future__ import annotations

import httpx
import pytest

from qbo_integration.qbo.errors import (
    ErrorAction,
    QboError,
    error_from_exception,
    error_from_response,
)
from qbo_integration.qbo.faults import parse_fault, parse_retry_after

UPPER = {
    "Fault": {
        "Error": [
            {
                "Message": "Object Not Found",
                "Detail": "Object Not Found : Something you're trying to use has been made inactive.",
                "code": "610",
                "element": "EmployeeRef",
            }
        ],
        "type": "ValidationFault",
    },
    "time": "2026-03-02T16:01:02.123-08:00",
}
LOWER = {
    "fault": {
        "error": [
            {
                "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "detail": "Token expired: ...",
                "code": "3200",
            }
        ],
        "type": "AUTHENTICATION",
    },
    "time": 1772496062123,
}
XML = (
    '<Fault type="SERVICE"><Error code="3001">'
    "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
    "<Detail>The request limit was reached.  Try again later</Detail></Error></Fault>"
)
XML_NS = (
    '<?xml version="1.0" encoding="UTF-8"?><IntuitResponse xmlns="http://schema.intuit.com/finance/v3" '
    'time="2026-03-02T16:01:02.123-08:00"><Fault type="ValidationFault"><Error code="5010" element="">'
    "<Message>Stale Object Error</Message><Detail>You and Joe were working on this at the same time.</Detail>"
    "</Error></Fault></IntuitResponse>"
)


def resp(status: int, body, headers: dict | None = None, xml: bool = False) -> httpx.Response:
    h = {"intuit_tid": "tid-123", **(headers or {})}
    if xml:
        return httpx.Response(status, content=body.encode(), headers={**h, "Content-Type": "application/xml"})
    return httpx.Response(status, json=body, headers=h)


def test_upper_case_fault_is_validation_with_details():
    err = error_from_response(resp(400, UPPER))
    assert err.resolution.action == ErrorAction.VALIDATION
    assert (err.code, err.message, err.element, err.status) == ("610", "Object Not Found", "EmployeeRef", 400)
    assert "inactive" in err.detail
    assert err.intuit_tid == "tid-123"
    assert not err.retryable and not err.counts_for_breaker


def test_lower_case_gateway_fault_is_refresh():
    err = error_from_response(resp(401, LOWER))
    assert err.resolution.action == ErrorAction.REFRESH
    assert err.code == "3200"
    assert err.intuit_tid == "tid-123"


def test_xml_throttle_is_rate_limited_with_default_wait():
    err = error_from_response(resp(429, XML, xml=True))
    assert err.resolution.action == ErrorAction.RATE_LIMITED
    assert err.code == "3001"
    assert err.retry_after == 60.0
    assert err.fault_type == "SERVICE"


def test_xml_with_namespace_and_stale():
    err = error_from_response(resp(400, XML_NS, xml=True))
    assert err.resolution.action == ErrorAction.STALE and err.code == "5010"


@pytest.mark.parametrize("code", ["6210", "6200", "5010"])
def test_account_period_closed_is_validation_whatever_its_code(code):
    """Issue 15: QBO reports closed books as 6210 (also seen as 5010, which is no stale SyncToken here)."""
    body = {"Fault": {"Error": [{"Message": "Account Period Closed", "code": code, "Detail": (
        "The account period has closed and the account books cannot be updated through the QBO Services API. "
        "Please use the QBO website to make these changes.")}], "type": "ValidationFault"}}
    err = error_from_response(resp(400, body))
    assert err.resolution.action == ErrorAction.VALIDATION and not err.retryable


def test_throttle_recognised_by_message_and_code_even_without_429():
    body = {"Fault": {"Error": [{"Message": "message=ThrottleExceeded; errorCode=003001", "code": "3001"}]}}
    assert error_from_response(resp(400, body)).resolution.action == ErrorAction.RATE_LIMITED
    body2 = {"fault": {"error": [{"message": "message=ThrottleExceeded; errorCode=003001; statusCode=429"}]}}
    err = error_from_response(resp(400, body2))
    assert err.resolution.action == ErrorAction.RATE_LIMITED and err.code == "3001"


def test_retry_after_header_seconds_and_date():
    err = error_from_response(resp(429, XML, {"Retry-After": "7"}, xml=True))
    assert err.retry_after == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("garbage") is None


@pytest.mark.parametrize("code", ["610", "2020", "2500", "6000", "6240"])
def test_validation_codes(code):
    body = {
        "Fault": {
            "Error": [{"Message": "m", "Detail": "d", "code": code, "element": "X"}],
            "type": "ValidationFault",
        }
    }
    err = error_from_response(resp(400, body))
    assert err.resolution.action == ErrorAction.VALIDATION and err.code == code and err.element == "X"


@pytest.mark.parametrize(
    "status,body,action",
    [
        (
            500,
            {"Fault": {"Error": [{"Message": "internal", "code": "10000"}], "type": "SystemFault"}},
            "retry",
        ),
        (503, None, "retry"),
        (502, "<html>bad gateway</html>", "retry"),
        (400, {"Fault": {"Error": [{"Message": "x", "code": "10000"}], "type": "SystemFault"}}, "retry"),
        (404, None, "not_found"),
        (401, None, "refresh"),
        (429, None, "rate_limited"),
        (
            403,
            {"fault": {"error": [{"message": "errorCode=003100", "code": "3100"}], "type": "AUTHORIZATION"}},
            "validation",
        ),
        (400, {"Fault": {"Error": [{"Message": "Stale", "code": "5010"}]}}, "stale"),
        (422, {"foo": 1}, "validation"),
    ],
)
def test_status_mapping(status, body, action):
    if body is None:
        r = httpx.Response(status)
    elif isinstance(body, str):
        r = httpx.Response(status, content=body.encode())
    else:
        r = httpx.Response(status, json=body)
    assert error_from_response(r).resolution.action == ErrorAction(action)


def test_oauth_errors():
    err = error_from_response(resp(400, {"error": "invalid_grant"}))
    assert err.resolution.action == ErrorAction.CONNECTION_LOST and err.code == "invalid_grant"
    assert error_from_response(resp(401, {"error": "invalid_client"})).resolution.action == ErrorAction.VALIDATION
    assert error_from_response(resp(503, {"error": "temporarily_unavailable"})).resolution.action == ErrorAction.RETRY


def test_network_errors_are_retry():
    assert error_from_exception(httpx.ReadTimeout("t")).resolution.action == ErrorAction.RETRY
    assert "timeout" in error_from_exception(httpx.ConnectTimeout("t")).message
    assert error_from_exception(httpx.ConnectError("refused")).resolution.action == ErrorAction.RETRY


def test_parse_fault_shapes_and_junk():
    assert parse_fault(b"") is None
    assert parse_fault(b"not json") is None
    assert parse_fault(b"<html><body>nope</body></html>") is None
    assert parse_fault('<!DOCTYPE x [<!ENTITY a "b">]><Fault/>') is None
    assert parse_fault(XML).items[0].code == "3001"


def test_error_is_a_readable_exception_without_secrets():
    err = error_from_response(resp(400, UPPER))
    text = str(err)
    assert "610" in text and "tid-123" in text and "validation" in text
    assert isinstance(err, QboError) and err.to_dict()["element"] == "EmployeeRef"
