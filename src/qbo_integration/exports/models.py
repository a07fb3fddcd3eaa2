"""The fallback CSV exports made (one row per file stored)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qbo_integration.db.base import Base, created_at_col, uuid_pk


class CsvExport(Base):
    __tablename__ = "csv_exports"

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    reason: Mapped[str] = mapped_column(String(30))  # manual | breaker_open
    storage_key: Mapped[str] = mapped_column(Text)
    row_count: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = created_at_col()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
