"""Mapping profiles and dry runs (our copy of the QBO directory is directory/models.py)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qbo_integration.db.base import Base, created_at_col, updated_at_col, uuid_pk


class MappingProfile(Base):
    """config: {employeeMapping: {workerId: qboEmployeeId}, customerMapping, costCodeMapping,
    locationMapping, hourlyRateSource, mapStartEnd: bool}. `revision` bumps on every change so a dry
    run can be tied to the exact profile it checked."""

    __tablename__ = "mapping_profiles"
    __table_args__ = (
        CheckConstraint("cost_code_field IN ('Class','ServiceItem')", name="cost_code_field"),
        UniqueConstraint("company_id", "name", name="uq_mapping_profiles_company_name"),
        Index("uq_mapping_profiles_one_active", "company_id", unique=True, postgresql_where=text("active")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    cost_code_field: Mapped[str] = mapped_column(String(20), server_default="ServiceItem")
    config: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    revision: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()


class DryRun(Base):
    """A test-mode run: passed for exactly (profile_id, profile_revision); live sync needs one."""

    __tablename__ = "dry_runs"

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    profile_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    profile_revision: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    passed: Mapped[bool] = mapped_column(Boolean)
    timecards_checked: Mapped[int] = mapped_column(Integer, server_default="0")
    results: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    error_summary: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_col()
