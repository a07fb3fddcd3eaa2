"""Sync jobs (PRD §5.2) and the per-timecard sync record: the outbox that makes sync exactly-once."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qbo_integration.db.base import Base, created_at_col, updated_at_col, uuid_pk
from qbo_integration.sync.states import Op, State, Wanted, check


class SyncJob(Base):
    __tablename__ = "sync_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('pending','running','completed','failed')", name="status"),
        CheckConstraint("kind IN ('timecards','directory_import','dry_run')", name="kind"),
        Index("ix_sync_jobs_integration_id", "integration_id"),
        Index("ix_sync_jobs_status", "status"),
        Index("ix_sync_jobs_company_created", "company_id", text("created_at DESC")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    integration_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(30), server_default="timecards")
    trigger: Mapped[str] = mapped_column(String(30), server_default="event")  # event|sweep|sync_now|connect|cron|admin
    status: Mapped[str] = mapped_column(String(50), server_default="pending")
    params: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    timecards_total: Mapped[int] = mapped_column(Integer, server_default="0")
    timecards_synced: Mapped[int] = mapped_column(Integer, server_default="0")
    timecards_failed: Mapped[int] = mapped_column(Integer, server_default="0")
    errors: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    results: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))  # counts, previews
    qbo_calls: Mapped[int] = mapped_column(Integer, server_default="0")
    qbo_batches: Mapped[int] = mapped_column(Integer, server_default="0")
    qbo_retries: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = created_at_col()


class TimecardSyncRecord(Base):
    """One row per timecard: what QBO should hold for it, and how far we got.

    state: pending -> in_flight -> synced | failed (needs a human) | dead (retries exhausted).
    operation: what is wanted next (create, update, delete; settle: look up an outstanding create
    first), or none once settled. The pending_* columns are the ledger: the request sent last whose
    outcome is not known yet (recorded before the call). claim_token fences a job's write-back.
    """

    __tablename__ = "timecard_sync_records"
    __table_args__ = (
        CheckConstraint(check("wanted", Wanted), name="wanted"),
        CheckConstraint(check("state", State), name="state"),
        CheckConstraint(check("operation", Op), name="operation"),
        Index("ix_tsr_due", "company_id", "state", "next_attempt_at"),
        Index("ix_tsr_state", "state"),
        # The health endpoint's "synced today" count stays an index range scan with a big history.
        Index("ix_tsr_company_synced_at", "company_id", "synced_at", postgresql_where=text("state = 'synced'")),
        # The rows a claim holds (a lapsed claim's rows, taken over; a revoked claim still referenced).
        Index("ix_tsr_claim_token", "claim_token", postgresql_where=text("claim_token IS NOT NULL")),
        # Room on each page: a row's new version (its ledger entry recorded) stays on its page (HOT update).
        {"postgresql_with": {"fillfactor": 70}},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    timecard_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    operation: Mapped[str] = mapped_column(String(10), server_default="create")
    state: Mapped[str] = mapped_column(String(12), server_default="pending")
    timecard_version: Mapped[int] = mapped_column(Integer, server_default="0")  # version wanted in QBO
    synced_version: Mapped[int | None] = mapped_column(Integer)
    fingerprint: Mapped[str | None] = mapped_column(String(64))  # hash of the payload last sent
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    # the lease its claim had when the row was claimed: a lower bound of the claim's lease (SyncClaim),
    # which is renewed while the round lives (sync/lease.py)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    qbo_id: Mapped[str | None] = mapped_column(String(64))
    qbo_sync_token: Mapped[str | None] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(50))
    # the realm `qbo_id` and the ledger entry belong to: never sent to another (one company, one realm)
    realm_id: Mapped[str | None] = mapped_column(String(64))
    wanted: Mapped[str] = mapped_column(String(8), server_default="present")  # Wanted of the timecard
    claim_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    pending_op: Mapped[str | None] = mapped_column(String(10))
    pending_request_id: Mapped[str | None] = mapped_column(String(50))
    pending_fingerprint: Mapped[str | None] = mapped_column(String(64))
    pending_version: Mapped[int | None] = mapped_column(Integer)
    pending_body: Mapped[dict | None] = mapped_column(JSONB)
    pending_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the last moment the outstanding request can have been sent: its last attempt as the round reported
    # it, or the end of the lease of a round that never reported (None: in flight, its round still holds it)
    pending_unknown_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_kind: Mapped[str | None] = mapped_column(String(30))  # validation | mapping | transient | connection
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_code: Mapped[str | None] = mapped_column(String(30))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_job_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()


class SyncClaim(Base):
    """One claim of outbox rows by a sync round (their `claim_token`), with the claim's lease: the round
    sends for its rows only until `lease_until`, renewed while it is alive (sync/lease.py). A claim whose
    lease lapsed is revoked before its rows are taken over: it is never renewed again. One row per claim,
    so a renewal writes one row, whatever the claim's size."""

    __tablename__ = "sync_claims"
    __table_args__ = (Index("ix_sync_claims_company_id", "company_id"),)

    claim_token: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    lease_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = created_at_col()
