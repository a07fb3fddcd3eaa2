"""core.timecards (company_id, updated_at): the sweep's incremental pass reads what a company changed

Revision ID: c4e6a8b0d2f1
Revises: 8b3d6f0a2c71
Create Date: 2026-12-01 22:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c4e6a8b0d2f1"
down_revision: str | None = "8b3d6f0a2c71"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_core_timecards_company_updated", "timecards", ["company_id", "updated_at"], schema="core")


def downgrade() -> None:
    op.drop_index("ix_core_timecards_company_updated", table_name="timecards", schema="core")
