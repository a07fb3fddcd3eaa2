"""integrations.refresh_token_hard_expires_at: the grant's hard maximum (Intuit's 5 years), when told

Revision ID: 8b3d6f0a2c71
Revises: a7c2e4f6b813
Create Date: 2026-12-01 21:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b3d6f0a2c71"
down_revision: str | None = "a7c2e4f6b813"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("integrations", sa.Column("refresh_token_hard_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("integrations", "refresh_token_hard_expires_at")
