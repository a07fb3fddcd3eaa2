"""Reconciliation runs (what was read, found and repaired) and drift findings (QBO-side edits and deletes)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qbo_integration.db.base import Base, created_at_col, uuid_pk


class ReconciliationRun(Base):
    __tablename__ = "reconciliation_runs"
    __table_args__ = (
        CheckConstraint("status IN ('pending','running','completed','failed')", name="status"),
        Index("ix_reconciliation_runs_company_created", "company_id", text("created_at DESC")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    trigger: Mapped[str] = mapped_column(String(20))  # nightly | admin | webhook_gap
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    window_days: Mapped[int] = mapped_column(Integer)
    cursor: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # LastUpdatedTime read from
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    qbo_reads: Mapped[int] = mapped_column(Integer, server_default="0")
    records_read: Mapped[int] = mapped_column(Integer, server_default="0")
    complete: Mapped[bool] = mapped_column(server_default=text("true"))  # false: the read budget ran out
    counts: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    findings: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = created_at_col()


class DriftFinding(Base):
    """Something QBO holds for a synced timecard that we did not write: changed or deleted in QBO.

    status: open -> pushed (CrewFlow's version sent again) | accepted (QBO's version kept, recorded so it
    is never overwritten silently) | dismissed | superseded (CrewFlow wrote the timecard to QBO again since:
    CrewFlow is the system of record for approved time) | archived (the company switched to another
    QuickBooks company). One open finding per timecard.
    """

    __tablename__ = "drift_findings"
    __table_args__ = (
        CheckConstraint("kind IN ('changed','deleted')", name="kind"),
        CheckConstraint("status IN ('open','pushed','accepted','dismissed','superseded','archived')", name="status"),
        Index("uq_drift_findings_open", "timecard_id", unique=True, postgresql_where=text("status = 'open'")),
        Index("ix_drift_findings_company_open", "company_id", postgresql_where=text("status = 'open'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    timecard_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    qbo_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))  # webhook | reconciliation
    status: Mapped[str] = mapped_column(String(20), server_default="open")
    our_sync_token: Mapped[str | None] = mapped_column(String(32))
    qbo_sync_token: Mapped[str | None] = mapped_column(String(32))
    qbo_view: Mapped[dict | None] = mapped_column(JSONB)  # what QBO holds now (None when deleted)
    detected_at: Mapped[datetime] = created_at_col()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(200))


class WrittenVersion(Base):
    """The version of a TimeActivity QBO answered our last write with: its SyncToken and LastUpdatedTime.
    A webhook event of that record dated no later than this is the echo of our write: no read needed."""

    __tablename__ = "qbo_written_versions"

    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    qbo_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sync_token: Mapped[str] = mapped_column(String(32))
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = created_at_col()
