"""timecard_sync_events: each timecard's sync story (versions, decisions, attempts, waits, admin actions)

Revision ID: 7a3c5e9b1d24
Revises: 5e2b8c4a9d71
Create Date: 2026-12-07 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7a3c5e9b1d24"
down_revision: str | None = "5e2b8c4a9d71"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "timecard_sync_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("company_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("timecard_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("realm_id", sa.String(64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("code", sa.String(30), nullable=False),
        sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"),
                  nullable=False),
        sa.Column("request_id", sa.String(50), nullable=True),
        sa.Column("job_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.CheckConstraint("kind IN ('version','decision','attempt','wait','admin')",
                           name=op.f("ck_timecard_sync_events_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timecard_sync_events")),
    )
    op.create_index("ix_timecard_sync_events_timecard", "timecard_sync_events", ["timecard_id", sa.text("id DESC")])
    op.create_index("ix_timecard_sync_events_at", "timecard_sync_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_timecard_sync_events_at", table_name="timecard_sync_events")
    op.drop_index("ix_timecard_sync_events_timecard", table_name="timecard_sync_events")
    op.drop_table("timecard_sync_events")
