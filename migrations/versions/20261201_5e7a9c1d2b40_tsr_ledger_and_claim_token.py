"""timecard_sync_records: the outstanding-request ledger, claim tokens, the 'settle' operation, wanted

Revision ID: 5e7a9c1d2b40
Revises: f1b3d5e7a902
Create Date: 2026-12-01 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5e7a9c1d2b40"
down_revision: str | None = "f1b3d5e7a902"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "timecard_sync_records"


def upgrade() -> None:
    op.add_column(T, sa.Column("wanted", sa.String(8), server_default="present", nullable=False))
    op.execute(f"""UPDATE {T} SET wanted = 'absent' WHERE operation = 'delete'
                   OR (operation = 'none' AND qbo_id IS NULL)""")
    op.create_check_constraint(op.f("ck_timecard_sync_records_wanted"), T, "wanted IN ('present','absent','skip')")
    op.add_column(T, sa.Column("claim_token", postgresql.UUID(as_uuid=True), nullable=True))
    op.add_column(T, sa.Column("pending_op", sa.String(10), nullable=True))
    op.add_column(T, sa.Column("pending_request_id", sa.String(50), nullable=True))
    op.add_column(T, sa.Column("pending_fingerprint", sa.String(64), nullable=True))
    op.add_column(T, sa.Column("pending_version", sa.Integer(), nullable=True))
    op.add_column(T, sa.Column("pending_body", postgresql.JSONB(), nullable=True))
    op.add_column(T, sa.Column("pending_since", sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint(op.f("ck_timecard_sync_records_operation"), T, type_="check")
    op.create_check_constraint(op.f("ck_timecard_sync_records_operation"), T,
                               "operation IN ('create','update','delete','none','settle')")
    # Creates that failed with an unknown outcome before the ledger existed: look them up in QBO
    # rather than trusting a request id QBO may have forgotten.
    op.execute(f"""UPDATE {T} SET pending_op = 'create', pending_request_id = request_id,
                   pending_version = timecard_version, operation = 'settle'
                   WHERE qbo_id IS NULL AND request_id IS NOT NULL AND operation = 'create'
                   AND (state = 'in_flight' OR (state IN ('failed', 'dead') AND error_kind = 'transient'))""")


def downgrade() -> None:
    op.execute(f"UPDATE {T} SET operation = 'create' WHERE operation = 'settle'")
    op.drop_constraint(op.f("ck_timecard_sync_records_operation"), T, type_="check")
    op.create_check_constraint(op.f("ck_timecard_sync_records_operation"), T,
                               "operation IN ('create','update','delete','none')")
    op.drop_constraint(op.f("ck_timecard_sync_records_wanted"), T, type_="check")
    for col in ("pending_since", "pending_body", "pending_version", "pending_fingerprint", "pending_request_id",
                "pending_op", "claim_token", "wanted"):
        op.drop_column(T, col)
