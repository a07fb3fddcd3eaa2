"""What a switch to another QuickBooks company set aside: the old realm's rows, kept for audit, never applied."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qbo_integration.db.base import Base, created_at_col, uuid_pk


class RealmArchive(Base):
    """One archived row: `kind` names its table (sync_record, mapping_profile, directory_record,
    directory_proposal), `ref` its key there (a timecard id, a profile id, "Entity:Id"), `record` the row as
    it was."""

    __tablename__ = "realm_archive"
    __table_args__ = (Index("ix_realm_archive_company_realm", "company_id", "realm_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    realm_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(30))
    ref: Mapped[str | None] = mapped_column(String(100))
    record: Mapped[dict] = mapped_column(JSONB)
    archived_at: Mapped[datetime] = created_at_col()
