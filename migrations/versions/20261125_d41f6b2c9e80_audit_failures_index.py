"""integration_audit_log: partial index on (company_id, created_at DESC) for failures

Revision ID: d41f6b2c9e80
Revises: c3d9a1e07b52
Create Date: 2026-11-25 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d41f6b2c9e80"
down_revision: str | None = "c3d9a1e07b52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_log_company_failures", "integration_audit_log", ["company_id", sa.text("created_at DESC")],
        postgresql_where=sa.text("status = 'failure'"),
    )


def downgrade() -> None:
    op.drop_index("ix_audit_log_company_failures", table_name="integration_audit_log")
