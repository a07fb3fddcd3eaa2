"""Core Platform's tables (schema `core`), as core-contract.md defines them.

Core owns these; in the embedded default our migrations create them so the
service runs on its own. Only `core_platform/` code may query them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from qbo_integration.db.base import Base, created_at_col, updated_at_col, uuid_pk

CORE = {"schema": "core"}


class Company(Base):
    __tablename__ = "companies"
    __table_args__ = CORE
    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    admin_email: Mapped[str | None] = mapped_column(String(320))


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin','supervisor','field_worker')", name="role"),
        CORE,
    )
    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("core.companies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20), server_default="field_worker")
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    external_ids: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (CheckConstraint("status IN ('active','archived')", name="status"), CORE)
    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("core.companies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), server_default="active")
    external_ids: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()


class CostCode(Base):
    __tablename__ = "cost_codes"
    __table_args__ = CORE
    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("core.companies.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class Timecard(Base):
    __tablename__ = "timecards"
    __table_args__ = (
        CheckConstraint("status IN ('draft','submitted','approved','rejected')", name="status"),
        CheckConstraint("sync_status IN ('not_synced','pending','synced','failed')", name="sync_status"),
        CORE,
    )
    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("core.companies.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("core.users.id"))
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("core.projects.id"))
    cost_code_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("core.cost_codes.id"))
    clock_in: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    clock_out: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    break_minutes: Mapped[int] = mapped_column(Integer, server_default="0")
    total_hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    billable: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), server_default="draft")
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = updated_at_col()
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    sync_status: Mapped[str] = mapped_column(String(20), server_default="not_synced")
    qbo_id: Mapped[str | None] = mapped_column(Text)
    qbo_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Sweep query: approved timecards per company.
Index("ix_core_timecards_company_status", Timecard.company_id, Timecard.status, Timecard.approved_at)
# The sweep's incremental pass: timecards a company changed since the last pass (asked of Core too).
Index("ix_core_timecards_company_updated", Timecard.company_id, Timecard.updated_at)
