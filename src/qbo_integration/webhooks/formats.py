"""The two delivery formats Intuit sends (qbo-wire.md, "Webhooks"), parsed into one event shape.

CloudEvents: a JSON array of `{"specversion":"1.0","id","source","type":"qbo.<entity>.<operation>.v<n>",
"time","intuitentityid","intuitaccountid","data"}`. Legacy: `{"eventNotifications":[{"realmId",
"dataChangeEvent":{"entities":[{"name","id","operation","lastUpdated"}]}}]}`. An event only says "look at
this record now": its content is never trusted.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from qbo_integration.untrusted import unstorable_text_problem

# Entities Intuit notifies about that we act on; others are acknowledged and ignored.
ENTITIES = {e.lower(): e for e in ("TimeActivity", "Employee", "Customer", "Vendor", "Item", "Class", "Department")}
OPERATIONS = {"create": "Create", "created": "Create", "update": "Update", "updated": "Update",
              "delete": "Delete", "deleted": "Delete", "merge": "Merge", "merged": "Merge",
              "void": "Void", "voided": "Void", "emailed": "Emailed"}
_CE_TYPE = re.compile(r"^qbo\.([a-z]+)\.([a-z]+)\.v\d+$")
MAX_EVENTS = 5000  # one delivery; more is refused as malformed
MAX_TEXT = 200
# An event's time outside these years is no time at all (a clock or a forger's, not Intuit's): it would
# only mislead the "late delivery" check, and some (year 1 at +14:00) are not even an instant in UTC.
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


class MalformedDelivery(ValueError):
    """The body is not a webhook delivery in either format."""


@dataclass(frozen=True)
class ChangeEvent:
    event_id: str  # dedupe key: the CloudEvent id, or a digest of the legacy entry
    realm_id: str
    entity: str  # QBO spelling, e.g. TimeActivity
    entity_id: str
    operation: str  # Create | Update | Delete | Merge | Void | Emailed
    occurred_at: datetime | None


def _text(value: object, what: str) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise MalformedDelivery(f"{what} must be a string")
    out = str(value).strip()
    if not out or len(out) > MAX_TEXT:
        raise MalformedDelivery(f"{what} must be 1 to {MAX_TEXT} characters")
    problem = unstorable_text_problem(out)
    if problem:
        raise MalformedDelivery(f"{what} {problem}")
    return out


def _time(value: object) -> datetime | None:
    """The event's time in UTC, or None when it is missing, unreadable, without a zone or implausible."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            return None
        utc = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return utc if EARLIEST <= utc < LATEST else None


def parse(body: bytes) -> list[ChangeEvent]:
    """Every event of the delivery that names an entity we know; raises MalformedDelivery otherwise."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedDelivery("the body is not JSON") from exc
    if isinstance(doc, list):
        return _cloudevents(doc)
    if isinstance(doc, dict) and "eventNotifications" in doc:
        return _legacy(doc["eventNotifications"])
    raise MalformedDelivery("expected a CloudEvents array or an eventNotifications object")


def _cloudevents(items: list) -> list[ChangeEvent]:
    if len(items) > MAX_EVENTS:
        raise MalformedDelivery(f"at most {MAX_EVENTS} events per delivery")
    out: list[ChangeEvent] = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise MalformedDelivery(f"event {n} is not an object")
        type_ = _text(item.get("type"), f"event {n} type").lower()
        match = _CE_TYPE.match(type_)
        if match is None:
            raise MalformedDelivery(f"event {n} type {type_!r} is not qbo.<entity>.<operation>.v<n>")
        entity, operation = ENTITIES.get(match.group(1)), OPERATIONS.get(match.group(2))
        event_id = _text(item.get("id"), f"event {n} id")
        realm = _text(item.get("intuitaccountid"), f"event {n} intuitaccountid")
        entity_id = _text(item.get("intuitentityid"), f"event {n} intuitentityid")
        if entity is None or operation is None:
            continue  # an entity or operation we don't act on
        out.append(ChangeEvent(f"ce:{event_id}", realm, entity, entity_id, operation, _time(item.get("time"))))
    return out


def _legacy(notifications: object) -> list[ChangeEvent]:
    if not isinstance(notifications, list):
        raise MalformedDelivery("eventNotifications must be an array")
    out: list[ChangeEvent] = []
    for n, note in enumerate(notifications):
        if not isinstance(note, dict):
            raise MalformedDelivery(f"notification {n} is not an object")
        realm = _text(note.get("realmId"), f"notification {n} realmId")
        change = note.get("dataChangeEvent") or {}
        entities = change.get("entities") if isinstance(change, dict) else None
        if not isinstance(entities, list):
            raise MalformedDelivery(f"notification {n} has no dataChangeEvent.entities array")
        if len(out) + len(entities) > MAX_EVENTS:
            raise MalformedDelivery(f"at most {MAX_EVENTS} events per delivery")
        for m, ent in enumerate(entities):
            if not isinstance(ent, dict):
                raise MalformedDelivery(f"notification {n} entity {m} is not an object")
            name = _text(ent.get("name"), f"notification {n} entity {m} name")
            entity_id = _text(ent.get("id"), f"notification {n} entity {m} id")
            op_text = _text(ent.get("operation"), f"notification {n} entity {m} operation")
            entity, operation = ENTITIES.get(name.lower()), OPERATIONS.get(op_text.lower())
            if entity is None or operation is None:
                continue
            stamp = ent.get("lastUpdated")  # not checked: any value keeps a redelivery's digest the same
            key = f"{realm}|{entity}|{entity_id}|{operation}|{stamp}".encode("utf-8", "surrogatepass")
            digest = hashlib.sha256(key).hexdigest()[:40]
            out.append(ChangeEvent(f"legacy:{digest}", realm, entity, entity_id, operation, _time(stamp)))
    return out
