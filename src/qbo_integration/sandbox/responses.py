"""QBO wire shapes: timestamps, the three fault bodies, intuit_tid."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from starlette.responses import Response

JSON = "application/json;charset=UTF-8"

NOT_FOUND_DETAIL = (
    "Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)


def parse_offset(offset: str) -> timezone:
    sign = -1 if offset.startswith("-") else 1
    hh, mm = offset.lstrip("+-").split(":")
    return timezone(sign * timedelta(hours=int(hh), minutes=int(mm)))


class Clock:
    """Formats the config clock in the company's fixed offset."""

    def __init__(self, now_fn, offset: str) -> None:
        self.now = now_fn
        self.tz = parse_offset(offset)

    def dt(self, ts: float | None = None) -> datetime:
        return datetime.fromtimestamp(self.now() if ts is None else ts, self.tz)

    def meta(self, ts: float) -> str:
        """MetaData times: seconds with offset, e.g. 2026-03-02T16:01:02-08:00."""
        return self.dt(ts).isoformat(timespec="seconds")

    def stamp(self) -> str:
        """The `time` field of every answer: milliseconds with offset."""
        return self.dt().isoformat(timespec="milliseconds")

    def today(self) -> str:
        return self.dt().date().isoformat()


def new_tid() -> str:
    return "1-" + secrets.token_hex(4) + "-" + secrets.token_hex(12)


def dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def json_response(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status_code=status, media_type=JSON)


def error(code: str, message: str, detail: str, element: str = "") -> dict:
    return {"Message": message, "Detail": detail, "code": code, "element": element}


def fault(errors: list[dict], type_: str = "ValidationFault") -> dict:
    return {"Error": errors, "type": type_}


def fault_body(clock: Clock, errors: list[dict], type_: str = "ValidationFault") -> dict:
    return {"Fault": fault(errors, type_), "time": clock.stamp()}


class QboFault(Exception):
    """Raised by handlers; becomes a Fault body (or a batch item Fault)."""

    def __init__(self, code: str, message: str, detail: str, element: str = "",
                 type_: str = "ValidationFault", status: int = 400) -> None:
        super().__init__(detail)
        self.error = error(code, message, detail, element)
        self.type = type_
        self.status = status

    def as_fault(self) -> dict:
        return fault([self.error], self.type)


def not_found(element: str = "") -> QboFault:
    return QboFault("610", "Object Not Found", NOT_FOUND_DETAIL, element)


def required(field: str, detail: str | None = None) -> QboFault:
    return QboFault("2020", "Required param missing, need to supply the required value for the API",
                    detail or f"Required parameter {field} is missing in the request", field)


def invalid_ref(field: str, entity: str) -> QboFault:
    return QboFault("2500", "Invalid Reference Id",
                    f"Invalid Reference Id : {entity} assigned to this transaction has been deleted. "
                    f"Before you can modify this transaction, you must restore {entity}.", field)


def invalid(field: str, detail: str) -> QboFault:
    return QboFault("2010", "Request has invalid or unsupported property",
                    f"Property Name:{field} specified is unsupported or invalid: {detail}", field)


def business(detail: str, element: str = "") -> QboFault:
    return QboFault("6000", "A business validation error has occurred while processing your request",
                    f"Business Validation Error: {detail}", element)


def stale() -> QboFault:
    return QboFault("5010", "Stale Object Error",
                    "Stale Object Error : You and another user were working on the same thing. "
                    "Please refresh and try again.")


def duplicate_name() -> QboFault:
    return QboFault("6240", "Duplicate Name Exists Error",
                    "The name supplied already exists. : Another customer, vendor or employee is already "
                    "using this name. Please use a different name.")


def query_error(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}")


def query_invalid(detail: str) -> QboFault:
    return QboFault("4001", "Invalid query", f"QueryValidationError: {detail}")


def not_queryable(prop: str) -> QboFault:
    return query_invalid(f"property '{prop}' is not queryable")


def unknown_property(prop: str, entity: str) -> QboFault:
    return query_invalid(f"Property {prop} not found for Entity {entity}")


def max_results_too_large(value: int, limit: int) -> QboFault:
    return query_invalid(f"value {value} is too large. Max allowed value is {limit}")


def system_error(status: int = 500) -> QboFault:
    if status == 503:
        return QboFault("10000", "Service Unavailable",
                        "Service Unavailable: The service is temporarily unavailable. Try again later.",
                        type_="SystemFault", status=503)
    return QboFault("10000", "An application error has occurred while processing your request",
                    "System Failure Error: An unexpected error occurred while accessing or saving your data. "
                    "Please wait a few minutes and try again.", type_="SystemFault", status=status)


def fault_response(clock: Clock, exc: QboFault) -> Response:
    return json_response({"Fault": exc.as_fault(), "time": clock.stamp()}, exc.status)


def auth_fault_response(clock: Clock, detail: str, status: int = 401) -> Response:
    """The gateway's lower-case JSON (time as epoch ms)."""
    if status == 403:
        msg, code, type_ = ("message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                            "3100", "AUTHORIZATION")
    else:
        msg, code, type_ = ("message=AuthenticationFailed; errorCode=003200; statusCode=401",
                            "3200", "AUTHENTICATION")
    body = {"fault": {"error": [{"message": msg, "detail": detail, "code": code}], "type": type_},
            "time": int(clock.now() * 1000)}
    return json_response(body, status)


THROTTLE_FAULT = (
    '<Fault type="SERVICE"><Error code="3001">'
    "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
    "<Detail>The request limit was reached.  Try again later</Detail></Error></Fault>"
)
INTUIT_NS = "http://schema.intuit.com/finance/v3"


def throttle_xml(clock: Clock) -> str:
    """QBO's 429 body: the Fault inside an IntuitResponse in the v3 schema's namespace."""
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<IntuitResponse xmlns="{INTUIT_NS}" time="{clock.stamp()}">{THROTTLE_FAULT}</IntuitResponse>')


def throttle_response(clock: Clock) -> Response:
    return Response(throttle_xml(clock).encode(), status_code=429, media_type="application/xml")
