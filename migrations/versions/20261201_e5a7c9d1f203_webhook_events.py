"""webhook_events (Intuit change notifications, deduplicated by event id) and drift_findings

Revision ID: e5a7c9d1f203
Revises: d41f6b2c9e80
Create Date: 2026-12-01 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e5a7c9d1f203"
down_revision: str | None = "d41f6b2c9e80"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("id", postgresql.UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("event_id", sa.String(250), nullable=False),
        sa.Column("realm_id", sa.String(200), nullable=False),
        sa.Column("company_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("entity", sa.String(30), nullable=False),
        sa.Column("entity_id", sa.String(200), nullable=False),
        sa.Column("operation", sa.String(20), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("status", sa.String(20), server_default="pending", nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('pending','processing','done','failed')", name=op.f("ck_webhook_events_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_events_event_id")),
    )
    op.create_index("ix_webhook_events_company_pending", "webhook_events", ["company_id", "received_at"],
                    postgresql_where=sa.text("status IN ('pending','processing')"))
    op.create_table(
        "drift_findings",
        sa.Column("id", postgresql.UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("company_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("timecard_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("qbo_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), server_default="open", nullable=False),
        sa.Column("our_sync_token", sa.String(32), nullable=True),
        sa.Column("qbo_sync_token", sa.String(32), nullable=True),
        sa.Column("qbo_view", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.CheckConstraint("kind IN ('changed','deleted')", name=op.f("ck_drift_findings_kind")),
        sa.CheckConstraint("status IN ('open','pushed','accepted','dismissed')", name=op.f("ck_drift_findings_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_findings")),
    )
    op.create_index("uq_drift_findings_open", "drift_findings", ["timecard_id"], unique=True,
                    postgresql_where=sa.text("status = 'open'"))
    op.create_index("ix_drift_findings_company_open", "drift_findings", ["company_id"],
                    postgresql_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index("ix_drift_findings_company_open", table_name="drift_findings")
    op.drop_index("uq_drift_findings_open", table_name="drift_findings")
    op.drop_table("drift_findings")
    op.drop_index("ix_webhook_events_company_pending", table_name="webhook_events")
    op.drop_table("webhook_events")
