"""The integration row (one per company) with its encrypted QBO connection, and OAuth states."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from qbo_integration.db.base import Base, created_at_col, updated_at_col, uuid_pk


class Integration(Base):
    """PRD §5.1 `integrations`, with the connection split out of `config` into typed columns.

    Tokens are AES-256-GCM ciphertexts (see connections/crypto), never plain text.
    """

    __tablename__ = "integrations"
    __table_args__ = (
        UniqueConstraint("company_id", "type", name="uq_integrations_company_id_type"),
        CheckConstraint("type = 'quickbooks'", name="type"),
        CheckConstraint("status IN ('pending','healthy','degraded','failed')", name="status"),
        CheckConstraint(
            "connection_status IN ('never_connected','connected','disconnected','lost')", name="connection_status"
        ),
        # A realm can be connected to one company at a time.
        Index(
            "uq_integrations_connected_realm",
            "realm_id",
            unique=True,
            postgresql_where=text("connection_status = 'connected'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("core.companies.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(50), server_default="quickbooks")
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))  # live sync on
    config: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    last_sync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(50), server_default="pending")
    error_message: Mapped[str | None] = mapped_column(Text)

    realm_id: Mapped[str | None] = mapped_column(String(64))
    qbo_company_name: Mapped[str | None] = mapped_column(String(300))
    connection_status: Mapped[str] = mapped_column(String(20), server_default="never_connected")
    connection_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    connection_reason: Mapped[str | None] = mapped_column(Text)
    connected_by: Mapped[str | None] = mapped_column(String(200))
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    access_token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # rolling (100 days)
    # The grant's hard maximum (5 years after consent), when Intuit reported it; kept across refreshes.
    refresh_token_hard_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_test_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_test_ok: Mapped[bool | None] = mapped_column(Boolean)

    sync_start_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = created_at_col()
    updated_at: Mapped[datetime] = updated_at_col()


class OAuthState(Base):
    """A pending connect: single-use, expiring, bound to company and user. Stored by hash only."""

    __tablename__ = "oauth_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("core.companies.id", ondelete="CASCADE"))
    user_sub: Mapped[str] = mapped_column(String(200))
    code_verifier_enc: Mapped[str | None] = mapped_column(Text)
    return_to: Mapped[str | None] = mapped_column(Text)
    # the admin asked to switch QuickBooks company: a realm other than the company's may complete this flow
    allow_realm_switch: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = created_at_col()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CompanyBooks(Base):
    """The rules the company's own QuickBooks settings impose (issue 15), as last read from its Preferences:
    at connect and on each directory import. No row: never read; nothing is refused before sending."""

    __tablename__ = "company_books"

    integration_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"),
                                                      primary_key=True)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("core.companies.id", ondelete="CASCADE"), unique=True)
    book_close_date: Mapped[date | None] = mapped_column(Date)  # AccountingInfoPrefs.BookCloseDate
    class_tracking: Mapped[bool] = mapped_column(Boolean)  # AccountingInfoPrefs.ClassTrackingPerTxn
    department_tracking: Mapped[bool] = mapped_column(Boolean)  # AccountingInfoPrefs.TrackDepartments
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
