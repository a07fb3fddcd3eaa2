"""timecard_sync_records.pending_unknown_at: when the round that sent the outstanding request reported it unknown

After that moment the job never sends the request again, so a look-up that finds nothing is believed
SETTLE_QUIET later; without it (the job died or stalled) only SEND_WINDOW + SETTLE_QUIET after the
request was recorded.

Revision ID: 9d4f1b3e6a57
Revises: 7b2e4d6f8a13
Create Date: 2026-12-02 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d4f1b3e6a57"
down_revision: str | None = "7b2e4d6f8a13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("timecard_sync_records", sa.Column("pending_unknown_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("timecard_sync_records", "pending_unknown_at")
