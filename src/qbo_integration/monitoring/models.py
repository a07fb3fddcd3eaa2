"""Audit log (PRD §5.3), alert outbox, setup checklist (48-hour guarantee)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qbo_integration.db.base import Base, created_at_col, uuid_pk


class AuditLogEntry(Base):
    """Never holds a token, code or secret: payloads pass through monitoring.audit.redact()."""

    __tablename__ = "integration_audit_log"
    __table_args__ = (
        CheckConstraint("status IN ('success','failure')", name="status"),
        Index("ix_audit_log_integration_id", "integration_id", text("created_at DESC")),
        Index("ix_audit_log_timecard_id", "timecard_id"),
        Index("ix_audit_log_company_created", "company_id", text("created_at DESC")),
        Index("ix_audit_log_created", "created_at"),
        # The health endpoint's "errors in the last 24 h" (monitoring.audit_query.recent_failures).
        Index("ix_audit_log_company_failures", "company_id", text("created_at DESC"),
              postgresql_where=text("status = 'failure'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    integration_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # No FK to core.timecards: Core may delete a timecard, and its history must stay.
    timecard_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    worker_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    project_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    job_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    qbo_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str | None] = mapped_column(String(200))
    request_payload: Mapped[dict | None] = mapped_column(JSONB)
    response_payload: Mapped[dict | None] = mapped_column(JSONB)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_col()


class AlertOutbox(Base):
    """Emails waiting to go out. A failing SMTP server delays an alert; it never loses one."""

    __tablename__ = "alert_outbox"
    __table_args__ = (
        CheckConstraint("state IN ('pending','sent','logged','failed')", name="state"),
        Index("ix_alert_outbox_due", "state", "next_attempt_at"),
        Index("ix_alert_outbox_dedupe", "company_id", "kind", text("created_at DESC")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(50))
    # One alert per (company, kind, dedupe_key) per cool-down (monitoring.alerts.queue_alert).
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    recipients: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_col()


class SetupChecklist(Base):
    """The 48-hour guarantee: when each setup step first happened, per company."""

    __tablename__ = "setup_checklists"

    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    started_at: Mapped[datetime] = created_at_col()
    connected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    directory_imported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    mapping_saved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dry_run_passed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    live_sync_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_timecard_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    alerts_sent: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))  # thresholds alerted

