"""alert_outbox.dedupe_key: one alert per condition per cool-down

Revision ID: b7e1c2d3a4f5
Revises: 0845644914fb
Create Date: 2026-11-25 13:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e1c2d3a4f5"
down_revision: str | None = "0845644914fb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("alert_outbox", sa.Column("dedupe_key", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column("alert_outbox", "dedupe_key")
