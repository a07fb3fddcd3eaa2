"""The sync story's table: one row per thing that happened to a timecard's sync, written by the sync core
in the same transaction as the outbox change it tells of (so the story never disagrees with the outbox)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from qbo_integration.db.base import Base
from qbo_integration.sync.states import check


class StoryKind(StrEnum):
    VERSION = "version"  # a version of the timecard CrewFlow had (facts: its fields)
    DECISION = "decision"  # what the sync decided to do with it, and why
    ATTEMPT = "attempt"  # a request to QuickBooks (or a look-up) and its answer
    WAIT = "wait"  # what it waits for, until when
    ADMIN = "admin"  # an admin's action (Sync Now, requeue, drift resolution, export)


class TimecardSyncEvent(Base):
    __tablename__ = "timecard_sync_events"
    __table_args__ = (
        CheckConstraint(check("kind", StoryKind), name="kind"),
        Index("ix_timecard_sync_events_timecard", "timecard_id", text("id DESC")),
        Index("ix_timecard_sync_events_at", "at"),
    )

    # Insertion order is the story's order (newest first = id DESC); the cursor of a page is an id.
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    timecard_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    realm_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(30))  # e.g. create, throttled, sync_now (per kind)
    facts: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    request_id: Mapped[str | None] = mapped_column(String(50))
    job_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
