"""timecard_sync_records.lease_until: until when the round holding an in_flight row may send for it

A round holds its rows under a lease (30 s, renewed every 10 s while it is alive, sync/lease.py) and
sends nothing once it has lapsed; a row whose lease lapsed is claimed again at once (it waited
RECLAIM_AFTER, 15 min, before). In-flight rows of the old code keep their old reclaim time, and a
ledger entry no round reported keeps the last moment the old code could send it (SEND_WINDOW, 5 min,
after recording it) as `pending_unknown_at`, from which its settle deadline now counts.

Revision ID: 8c4e2a6f1b39
Revises: 7a1c3e5b9d20
Create Date: 2026-12-07 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8c4e2a6f1b39"
down_revision: str | None = "7a1c3e5b9d20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("timecard_sync_records", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE timecard_sync_records SET lease_until = claimed_at + interval '15 minutes' "
               "WHERE state = 'in_flight'")
    op.execute("UPDATE timecard_sync_records SET pending_unknown_at = pending_since + interval '5 minutes' "
               "WHERE pending_op IS NOT NULL AND pending_unknown_at IS NULL AND state <> 'in_flight'")


def downgrade() -> None:
    op.drop_column("timecard_sync_records", "lease_until")
