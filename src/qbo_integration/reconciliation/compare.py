"""Compare what QBO holds with what our outbox says it holds (pure: no I/O)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from qbo_integration.sync.known import OwnedRecord

KINDS = ("missing", "duplicate", "orphan", "drift")


def content_key(ta: dict[str, Any]) -> tuple:
    """Who, for which customer and item, when and how long: two records equal here are the same work."""
    ref = lambda k: (ta.get(k) or {}).get("value")  # noqa: E731
    return (ta.get("NameOf"), ref("EmployeeRef"), ref("VendorRef"), ref("CustomerRef"), ref("ItemRef"),
            ta.get("TxnDate"), ta.get("StartTime"), ta.get("EndTime"), ta.get("Hours"), ta.get("Minutes"),
            (ta.get("Description") or "").strip())


@dataclass
class Finding:
    kind: str  # missing | duplicate | orphan | drift
    qbo_id: str
    timecard_id: uuid.UUID | None
    message: str
    qbo_sync_token: str | None = None
    view: dict[str, Any] | None = field(default=None, repr=False)
    repair: str | None = None  # what was done about it

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "qboId": self.qbo_id, "timecardId": str(self.timecard_id) if self.timecard_id else None,
                "message": self.message, "repair": self.repair}


def compare(qbo: dict[str, dict[str, Any]], owned: list[OwnedRecord], absent: set[str]) -> list[Finding]:
    """`qbo`: TimeActivities read, by Id. `absent`: ids of ours that QBO said it does not have."""
    by_id = {o.qbo_id: o for o in owned}
    ours_by_key: dict[tuple, OwnedRecord] = {}
    for qbo_id, ta in qbo.items():
        o = by_id.get(qbo_id)
        if o is not None and o.wanted:
            ours_by_key.setdefault(content_key(ta), o)
    out: list[Finding] = []
    for qbo_id, ta in sorted(qbo.items()):
        o = by_id.get(qbo_id)
        token = str(ta.get("SyncToken")) if ta.get("SyncToken") is not None else None
        if o is None:
            twin = ours_by_key.get(content_key(ta))
            if twin is not None:
                out.append(Finding("duplicate", qbo_id, twin.timecard_id,
                                   f"A second QuickBooks record of the timecard (ours is Id {twin.qbo_id})",
                                   token, ta))
            continue
        if not o.settled:
            continue  # a write of ours is outstanding: the engine settles it
        if not o.wanted:
            out.append(Finding("orphan", qbo_id, o.timecard_id,
                               "The timecard is no longer approved but QuickBooks still holds it", token, ta))
        elif token != o.sync_token:
            out.append(Finding("drift", qbo_id, o.timecard_id, "Changed in QuickBooks by someone else", token, ta))
    for qbo_id in sorted(absent):
        o = by_id.get(qbo_id)
        if o is not None and o.settled and o.wanted:
            out.append(Finding("missing", qbo_id, o.timecard_id, "Synced, but QuickBooks no longer has it"))
    return out
