"""Our copy of the QBO directory (qbo_directory_records): lookups used by the payload builder,
validation, suggestions and the orphan list (mapping reads the directory through these). The import
writes it (importer.py, our_copy.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, cast, delete, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.directory.models import QboDirectoryRecord

ENTITY_LABELS = {"Employee": "employee", "Vendor": "vendor (subcontractor)", "Customer": "customer", "Item": "service item", "Class": "class",
                 "Department": "location"}


@dataclass(frozen=True)
class DirEntry:
    """One QBO directory record: as our copy holds it (`entry`), or as the import just read it from
    QuickBooks (fetching.to_row, which also fills the last three fields; `orphaned` is ours to
    decide, so it is False there)."""

    entity_type: str
    qbo_id: str
    name: str
    email: str | None
    active: bool
    deleted: bool
    orphaned: bool = False
    item_type: str | None = None
    parent_qbo_id: str | None = None
    qbo_updated_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    display: str = ""  # Customer: the DisplayName (Core's project name), the job's own name

    @property
    def usable(self) -> bool:
        return self.active and not self.deleted and not self.orphaned

    @property
    def state_words(self) -> str:
        if self.deleted:
            return "was deleted in QuickBooks"
        if not self.active:
            return "is inactive in QuickBooks"
        if self.orphaned:
            return "no longer exists in QuickBooks"
        return "is active"


def entry(r: QboDirectoryRecord) -> DirEntry:
    return DirEntry(entity_type=r.entity_type, qbo_id=r.qbo_id, name=r.name, email=r.email, active=bool(r.active),
                    deleted=bool(r.deleted), orphaned=bool(r.orphaned), item_type=r.item_type,
                    parent_qbo_id=r.parent_qbo_id)


async def lookup(session: AsyncSession, company_id: uuid.UUID,
                 keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], DirEntry]:
    """The directory records for these (entity_type, qbo_id) pairs; unknown ones are absent."""
    by_type: dict[str, set[str]] = {}
    for entity, qbo_id in keys:
        by_type.setdefault(entity, set()).add(str(qbo_id))
    if not by_type:
        return {}
    cond = or_(*(and_(QboDirectoryRecord.entity_type == e, QboDirectoryRecord.qbo_id.in_(sorted(ids)))
                 for e, ids in by_type.items()))
    rows = await session.execute(select(QboDirectoryRecord).where(QboDirectoryRecord.company_id == company_id, cond))
    return {(r.entity_type, r.qbo_id): entry(r) for r in rows.scalars()}


async def list_entries(session: AsyncSession, company_id: uuid.UUID, entity_type: str | None = None, *,
                       orphaned: bool | None = None, limit: int | None = None) -> list[DirEntry]:
    stmt = select(QboDirectoryRecord).where(QboDirectoryRecord.company_id == company_id)
    if entity_type:
        stmt = stmt.where(QboDirectoryRecord.entity_type == entity_type)
    if orphaned is not None:
        stmt = stmt.where(QboDirectoryRecord.orphaned.is_(orphaned))
    stmt = stmt.order_by(QboDirectoryRecord.entity_type, QboDirectoryRecord.name)
    if limit:
        stmt = stmt.limit(limit)
    return [entry(r) for r in (await session.execute(stmt)).scalars()]


def company_records(company_id: uuid.UUID) -> Select[tuple[str, Any]]:
    """Our copy of the company's QBO directory as (ref, record): a switch to another realm archives it."""
    return keyed_rows(QboDirectoryRecord, company_id)


def keyed_rows(table: Any, company_id: uuid.UUID) -> Select[tuple[str, Any]]:
    """A directory table's rows of the company as (ref "Entity:qboId", the row as JSON)."""
    ref = func.concat(table.entity_type, ":", cast(table.qbo_id, String))
    return select(ref.label("ref"), func.to_jsonb(literal_column(table.__tablename__)).label("record")
                  ).where(table.company_id == company_id)


async def delete_company_records(session: AsyncSession, company_id: uuid.UUID) -> int:
    result = await session.execute(delete(QboDirectoryRecord).where(QboDirectoryRecord.company_id == company_id)
                                   .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]
