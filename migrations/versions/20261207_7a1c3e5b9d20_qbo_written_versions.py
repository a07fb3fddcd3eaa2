"""qbo_written_versions: the version QBO answered each of our TimeActivity writes with (echo recognition)

Revision ID: 7a1c3e5b9d20
Revises: 7a3c5e9b1d24
Create Date: 2026-12-07 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7a1c3e5b9d20"
down_revision: str | None = "7a3c5e9b1d24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "qbo_written_versions",
        sa.Column("company_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("qbo_id", sa.String(64), nullable=False),
        sa.Column("sync_token", sa.String(32), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("company_id", "qbo_id"),
    )


def downgrade() -> None:
    op.drop_table("qbo_written_versions")
