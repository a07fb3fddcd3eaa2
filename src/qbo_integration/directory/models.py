"""Our copy of the QBO directory (employees, vendors, customers, items, classes, locations)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qbo_integration.db.base import Base, created_at_col, updated_at_col, uuid_pk


class QboDirectoryRecord(Base):
    """What the last import saw in QBO. `orphaned` = inactive or gone in QBO while something maps to it."""

    __tablename__ = "qbo_directory_records"
    __table_args__ = (
        CheckConstraint("entity_type IN ('Employee','Vendor','Customer','Item','Class','Department')",
                        name="entity_type"),
        UniqueConstraint("company_id", "entity_type", "qbo_id", name="uq_qbo_directory_records_key"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    entity_type: Mapped[str] = mapped_column(String(20))
    qbo_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    deleted: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    orphaned: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    parent_qbo_id: Mapped[str | None] = mapped_column(String(64))
    item_type: Mapped[str | None] = mapped_column(String(30))
    qbo_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    raw: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()
