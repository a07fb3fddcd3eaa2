"""Our copy of the QBO directory (qbo_directory_records) as an import changes it: a row per record,
created or updated only where a field differs, marked deleted when QBO deleted it or a full listing no
longer holds it, `orphaned` when CrewFlow still points at it, and every job named after its parent as we
now hold it. The rows are written in one go at the end (`flush`, the caller's transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.directory.counts import ImportCounts
from qbo_integration.directory.fetching import leaf_name
from qbo_integration.directory.models import QboDirectoryRecord
from qbo_integration.directory.service import DirEntry

_FIELDS = ("name", "email", "active", "deleted", "orphaned", "parent_qbo_id", "item_type", "qbo_updated_at", "raw")

Key = tuple[str, str]  # (entity, qbo id)


class DirectoryCopy:
    def __init__(self, session: AsyncSession, company_id: uuid.UUID, counts: ImportCounts) -> None:
        self.session = session
        self.company_id = company_id
        self.counts = counts
        self.known: dict[Key, dict[str, Any]] = {}
        self.inserts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []

    async def load(self) -> None:
        t = QboDirectoryRecord
        rows = await self.session.execute(
            select(t.id, t.entity_type, t.qbo_id, *(getattr(t, f) for f in _FIELDS))
            .where(t.company_id == self.company_id))
        self.known = {(r.entity_type, r.qbo_id): {"id": r.id, **{f: getattr(r, f) for f in _FIELDS}} for r in rows}

    def is_older(self, r: DirEntry) -> bool:
        """QBO sent an older view of the record than the one we hold."""
        old = self.known.get((r.entity_type, r.qbo_id))
        if old is None or r.qbo_updated_at is None or not old.get("qbo_updated_at"):
            return False
        return bool(r.qbo_updated_at < old["qbo_updated_at"])

    def put(self, values: dict[str, Any], key: Key) -> None:
        old = self.known.get(key)
        entity = key[0]
        if old is None:
            self.inserts.append({"id": uuid.uuid4(), "company_id": self.company_id, "entity_type": entity,
                                 "qbo_id": key[1], **values})
            self.counts.directory[f"{entity}.created"] += 1
            return
        diff = {f: v for f, v in values.items() if old.get(f) != v}
        if diff:
            self.updates.append({"id": old["id"], **diff})
            self.counts.directory[f"{entity}.updated"] += 1
            if diff.get("orphaned") is True:
                self.counts.newly_orphaned.append({"entityType": entity, "qboId": key[1], "name": values.get("name")
                                                   or old.get("name") or ""})
        else:
            self.counts.directory[f"{entity}.unchanged"] += 1
        old.update(values)

    def put_deleted(self, r: DirEntry, *, orphaned: bool) -> None:
        key = (r.entity_type, r.qbo_id)
        old = self.known.get(key)
        if old is None:
            return  # deleted before we ever saw it: nothing points at it
        self.put({"deleted": True, "active": False, "orphaned": orphaned,
                  "qbo_updated_at": r.qbo_updated_at or old["qbo_updated_at"]}, key)

    def put_record(self, r: DirEntry, *, orphaned: bool) -> None:
        self.put({"name": r.name, "email": r.email, "active": r.active, "deleted": False, "orphaned": orphaned,
                  "parent_qbo_id": r.parent_qbo_id, "item_type": r.item_type, "qbo_updated_at": r.qbo_updated_at,
                  "raw": r.raw}, (r.entity_type, r.qbo_id))

    def vanished(self, entity: str, seen: set[str], linked: Callable[[str, str], bool]) -> None:
        """A full listing: what we hold that QBO no longer lists is gone."""
        for (e, qbo_id), old in list(self.known.items()):
            if e == entity and qbo_id not in seen and not old["deleted"]:
                self.put({"deleted": True, "active": False, "orphaned": linked(e, qbo_id)}, (e, qbo_id))

    def rename_children(self, entity: str) -> None:
        """Each nested record named "<parent's full name>:<own name>" from what we now hold, so a parent
        renamed in QBO renames its jobs (and theirs) even when QBO did not send the jobs again."""
        recs = {q: old for (e, q), old in self.known.items() if e == entity}
        full: dict[str, str] = {}

        def name_of(qbo_id: str, depth: int = 0) -> str:
            if qbo_id in full:
                return full[qbo_id]
            old = recs[qbo_id]
            parent = old.get("parent_qbo_id")
            if not parent or parent not in recs or depth > 20:  # QBO nests at most 5 levels
                full[qbo_id] = str(old.get("name") or "")
            else:
                own = leaf_name(entity, str(old.get("name") or ""), old.get("raw"))
                full[qbo_id] = f"{name_of(parent, depth + 1)}:{own}"[:300]
            return full[qbo_id]

        for qbo_id, old in recs.items():
            if old.get("parent_qbo_id") and name_of(qbo_id) != old.get("name"):
                self.put({"name": full[qbo_id]}, (entity, qbo_id))

    def usable(self, entity: str) -> list[DirEntry]:
        """Our copy as this import leaves it: the records of this kind the wizard offers as candidates."""
        rows = [(q, v) for (e, q), v in self.known.items() if e == entity]
        rows += [(v["qbo_id"], v) for v in self.inserts if v["entity_type"] == entity]
        return [DirEntry(entity, q, str(v.get("name") or ""), v.get("email"), True, False, False)
                for q, v in rows if v.get("active") and not v.get("deleted") and not v.get("orphaned")]

    async def flush(self) -> None:
        if self.inserts:
            await self.session.execute(insert(QboDirectoryRecord), self.inserts)
        for row in self.updates:
            rid = row.pop("id")
            await self.session.execute(update(QboDirectoryRecord).where(QboDirectoryRecord.id == rid).values(**row)
                                       .execution_options(synchronize_session=False))
