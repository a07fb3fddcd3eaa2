"""Webhook events as received: one row per event id (the dedupe key), worked off by a job."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from qbo_integration.db.base import Base, created_at_col, uuid_pk


class WebhookEvent(Base):
    __tablename__ = "webhook_events"
    __table_args__ = (
        CheckConstraint("status IN ('pending','processing','done','failed')", name="status"),
        Index("ix_webhook_events_company_pending", "company_id", "received_at",
              postgresql_where=text("status IN ('pending','processing')")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    event_id: Mapped[str] = mapped_column(String(250), unique=True)
    realm_id: Mapped[str] = mapped_column(String(200))
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(200))
    operation: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = created_at_col()
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)

