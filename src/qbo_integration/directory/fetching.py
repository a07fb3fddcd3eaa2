"""Read the QBO directory: Employee, Vendor, Customer, Item, Class and Department, in full, by CDC or
by a `Metadata.LastUpdatedTime >` query (reads only), and each record as our copy's row (`to_row`).

Customers and jobs are named as QBO shows them, by `FullyQualifiedName` ("Parent:Job"); people by their
DisplayName. Everything QuickBooks sends is untrusted text (storable_text / storable_json).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from qbo_integration.directory.service import DirEntry
from qbo_integration.qbo.client import CompanyClient
from qbo_integration.qbo.models import QboEntity
from qbo_integration.untrusted import storable_json, storable_text

ENTITIES = ("Employee", "Vendor", "Customer", "Item", "Class", "Department")
PEOPLE = ("Employee", "Vendor")  # named by DisplayName; the others by FullyQualifiedName
NESTED = ("Customer", "Item", "Class", "Department")  # ParentRef + FullyQualifiedName "Parent:Child"
CDC_LOOKBACK = timedelta(days=30)
CDC_SAFETY = timedelta(hours=1)  # switch to the query fallback a little before QBO would refuse
CDC_MAX_OBJECTS = 1000  # one CDC answer holds at most this many: more may have been cut off
CURSOR_OVERLAP = timedelta(minutes=2)  # clock skew between us and QBO; re-reading is harmless


@dataclass
class Fetched:
    mode: str  # full | cdc | since
    records: dict[str, list[QboEntity]]
    complete: bool  # a full listing: records we know that are absent have vanished


def _qbo_time(dt: datetime) -> str:
    return dt.replace(microsecond=0).isoformat()


async def fetch(client: CompanyClient, *, cursor: datetime | None, now: datetime, force_full: bool = False) -> Fetched:
    """Full listing on the first import (or when asked); CDC within its 30-day look-back; otherwise a
    `Metadata.LastUpdatedTime >` query per entity (also used when a CDC answer may have been cut off)."""
    if cursor is None or force_full:
        lists = await asyncio.gather(*(client.query_all(f"SELECT * FROM {e} WHERE Active IN (true, false) ORDERBY Id")
                                       for e in ENTITIES))
        return Fetched("full", dict(zip(ENTITIES, lists, strict=True)), complete=True)
    since = cursor - CURSOR_OVERLAP
    if now - since < CDC_LOOKBACK - CDC_SAFETY:
        changed = await client.cdc(ENTITIES, _qbo_time(since))
        if sum(len(v) for v in changed.values()) < CDC_MAX_OBJECTS:
            return Fetched("cdc", {e: changed.get(e, []) for e in ENTITIES}, complete=False)
    stamp = _qbo_time(since)
    lists = await asyncio.gather(*(client.query_all(
        f"SELECT * FROM {e} WHERE Metadata.LastUpdatedTime > '{stamp}' AND Active IN (true, false) ORDERBY Id")
        for e in ENTITIES))
    return Fetched("since", dict(zip(ENTITIES, lists, strict=True)), complete=False)


# ---------------------------------------------------------------------------------------- one record
def _parse_time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
        return parsed.astimezone(UTC) if parsed is not None and parsed.tzinfo else parsed
    except (ValueError, OverflowError):  # OverflowError: before year 1 in UTC (0001-01-01T00:00+14:00)
        return None


def _text(value: Any, limit: int) -> str:
    """QBO's text as a column can hold it: QuickBooks' data is untrusted (a NUL, a lone surrogate, too long)."""
    return storable_text(str(value), limit)


def to_row(entity: str, e: QboEntity) -> DirEntry:
    data = e.to_qbo()
    display = data.get("DisplayName") or " ".join(
        p for p in (data.get("GivenName"), data.get("FamilyName")) if p) or data.get("CompanyName") or ""
    if entity in PEOPLE:
        name = display
    else:
        name = data.get("FullyQualifiedName") or (display if entity == "Customer" else data.get("Name")) or ""
    email = (data.get("PrimaryEmailAddr") or {}).get("Address") if entity in PEOPLE else None
    parent = (data.get("ParentRef") or {}).get("value")
    item_type = data.get("Type") if entity == "Item" else None
    return DirEntry(
        entity_type=entity, qbo_id=_text(data.get("Id"), 64), name=_text(name, 300),
        email=_text(str(email).strip(), 320) if email else None, active=data.get("Active") is not False,
        deleted=e.deleted, parent_qbo_id=_text(parent, 64) if parent else None,
        item_type=_text(item_type, 30) if item_type is not None else None,
        qbo_updated_at=_parse_time((data.get("MetaData") or {}).get("LastUpdatedTime")), raw=storable_json(data),
        display=_text(display, 300),
    )


def leaf_name(entity: str, name: str, raw: dict[str, Any] | None) -> str:
    """A nested record's own name, without its parents' ("Oak St Remodel" of "Cool Cars:Oak St Remodel")."""
    own = (raw or {}).get("DisplayName" if entity == "Customer" else "Name")
    return str(own) if own else name.rsplit(":", 1)[-1]
