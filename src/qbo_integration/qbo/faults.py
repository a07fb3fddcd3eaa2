"""Reading a QBO fault from a response body, in any of its shapes (qbo-wire.md, 'Errors').

The normal `{"Fault": {"Error": [...]}}`, the gateway's lower-case `{"fault": {"error": [...]}}`, XML
`<Fault><Error code=..>` (sent even when JSON was asked for), and the OAuth endpoints'
`{"error": "invalid_grant"}`. What a fault means is for resolution.py's table to say.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from qbo_integration.clock import utc_now


@dataclass(frozen=True)
class FaultItem:
    code: str | None = None
    message: str | None = None
    detail: str | None = None
    element: str | None = None



_ERRORCODE_RE = re.compile(r"errorCode=0*(\d+)")


def _norm_code(code: Any, message: str | None) -> str | None:
    if code is not None and str(code).strip():
        text = str(code).strip()
        return (text.lstrip("0") or "0") if text.isdigit() else text
    if message:
        m = _ERRORCODE_RE.search(message)
        if m:
            return m.group(1)
    return None


def _items_from_json(errors: Any, lower: bool) -> tuple[FaultItem, ...]:
    if isinstance(errors, dict):
        errors = [errors]
    out = []
    for e in errors or []:
        if not isinstance(e, dict):
            continue
        get = (
            (lambda k, e=e: e.get(k.lower(), e.get(k)))
            if lower
            else (lambda k, e=e: e.get(k, e.get(k.lower())))
        )
        message = get("Message")
        out.append(
            FaultItem(
                code=_norm_code(get("code") if get("code") is not None else e.get("Code"), message),
                message=message,
                detail=get("Detail"),
                element=get("element") or e.get("Element") or None,
            )
        )
    return tuple(out)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_xml(text: str) -> tuple[str | None, tuple[FaultItem, ...]] | None:
    if len(text) > 1_000_000 or "<!ENTITY" in text or "<!DOCTYPE" in text:
        return None
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    fault = (
        root
        if _local(root.tag) == "Fault"
        else next((el for el in root.iter() if _local(el.tag) == "Fault"), None)
    )
    if fault is None:
        return None
    items = []
    for err in fault:
        if _local(err.tag) != "Error":
            continue
        fields = {_local(c.tag): (c.text or "").strip() for c in err}
        message = fields.get("Message")
        items.append(
            FaultItem(
                code=_norm_code(err.get("code"), message),
                message=message,
                detail=fields.get("Detail"),
                element=err.get("element") or None,
            )
        )
    return fault.get("type"), tuple(items)


@dataclass(frozen=True)
class ParsedFault:
    fault_type: str | None = None
    items: tuple[FaultItem, ...] = ()
    oauth_error: str | None = None
    oauth_description: str | None = None


def parse_fault_dict(data: Any) -> ParsedFault | None:
    """A JSON body (or a batch item) in any of QBO's JSON fault shapes, or an OAuth error body."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("Fault"), dict):
        f = data["Fault"]
        return ParsedFault(f.get("type"), _items_from_json(f.get("Error", f.get("error")), lower=False))
    if isinstance(data.get("fault"), dict):
        f = data["fault"]
        return ParsedFault(f.get("type"), _items_from_json(f.get("error", f.get("Error")), lower=True))
    if isinstance(data.get("error"), str):
        return ParsedFault(oauth_error=data["error"], oauth_description=data.get("error_description"))
    return None


def parse_fault(body: bytes | str) -> ParsedFault | None:
    """Any of the three shapes (JSON upper, JSON lower, XML) or an OAuth error, from raw bytes."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else body
    text = text.strip()
    if not text:
        return None
    if text.startswith("<"):
        parsed = _parse_xml(text)
        return ParsedFault(parsed[0], parsed[1]) if parsed else None
    try:
        return parse_fault_dict(json.loads(text))
    except ValueError:
        return None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or utc_now())).total_seconds())
