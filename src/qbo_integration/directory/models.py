"""Our copy of the QBO directory (employees, vendors, customers, items, classes, locations), and the
import's proposals (what it could not place for sure, and what the admin decided)."""

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


class DirectoryProposal(Base):
    """A QuickBooks employee or customer the import could not place for sure, and what the admin decided.

    The import links a record only when the matching rule finds exactly one CrewFlow worker (project) with
    bulk-accept confidence, and creates one only when nothing in CrewFlow resembles it; anything in between
    is a proposal here (`open`), with the CrewFlow records it resembles (`candidates`: [{crewflowId, name,
    email, confidence, reason}]). The admin links it (`linked`, to `crewflow_id`), has a new record made
    (`created`) or skips it (`skipped`: the import leaves it alone from then on). `merged`: a record the
    import had created by mistake (`replaced_id`, now retired) was linked back to `crewflow_id`."""

    __tablename__ = "directory_proposals"
    __table_args__ = (
        CheckConstraint("entity_type IN ('Employee','Customer')", name="entity_type"),
        CheckConstraint("status IN ('open','linked','created','skipped','merged')", name="status"),
        UniqueConstraint("company_id", "entity_type", "qbo_id", name="uq_directory_proposals_key"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    entity_type: Mapped[str] = mapped_column(String(20))
    qbo_id: Mapped[str] = mapped_column(String(64))
    qbo_name: Mapped[str] = mapped_column(String(300))
    candidates: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    status: Mapped[str] = mapped_column(String(20), server_default="open")
    crewflow_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    replaced_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()
