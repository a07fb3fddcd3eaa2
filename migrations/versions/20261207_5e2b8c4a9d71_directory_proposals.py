"""directory_proposals: what the directory import could not place for sure, and what the admin decided

Revision ID: 5e2b8c4a9d71
Revises: c5e7a9b1d3f4
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5e2b8c4a9d71"
down_revision: str | None = "c5e7a9b1d3f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "directory_proposals",
        sa.Column("id", postgresql.UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("company_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("entity_type", sa.String(20), nullable=False),
        sa.Column("qbo_id", sa.String(64), nullable=False),
        sa.Column("qbo_name", sa.String(300), nullable=False),
        sa.Column("candidates", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
                  nullable=False),
        sa.Column("status", sa.String(20), server_default="open", nullable=False),
        sa.Column("crewflow_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("replaced_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("entity_type IN ('Employee','Customer')", name=op.f("ck_directory_proposals_entity_type")),
        sa.CheckConstraint("status IN ('open','linked','created','skipped','merged')",
                           name=op.f("ck_directory_proposals_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_proposals")),
        sa.UniqueConstraint("company_id", "entity_type", "qbo_id", name="uq_directory_proposals_key"),
    )
    op.create_index(op.f("ix_directory_proposals_company_id"), "directory_proposals", ["company_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_directory_proposals_company_id"), table_name="directory_proposals")
    op.drop_table("directory_proposals")
