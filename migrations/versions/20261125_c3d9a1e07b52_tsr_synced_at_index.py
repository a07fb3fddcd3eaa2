"""timecard_sync_records: partial index on (company_id, synced_at) for synced rows

Revision ID: c3d9a1e07b52
Revises: b7e1c2d3a4f5
Create Date: 2026-11-25 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3d9a1e07b52"
down_revision: str | None = "b7e1c2d3a4f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tsr_company_synced_at", "timecard_sync_records", ["company_id", "synced_at"],
        postgresql_where=sa.text("state = 'synced'"),
    )


def downgrade() -> None:
    op.drop_index("ix_tsr_company_synced_at", table_name="timecard_sync_records")
