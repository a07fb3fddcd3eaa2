"""sync_claims: a claim's lease in one row, not on every row it holds

A round's lease renewal (sync/lease.py, every 10 s) rewrote `lease_until` on every outbox row it held,
and found them by claim token with no index. With 50 companies syncing at once that was 58 % of
PostgreSQL's time in the fleet benchmark. A claim's lease is now one row of sync_claims; a row's
`lease_until` keeps the lease it was claimed with (a lower bound, still renewed by a round of the code
before this one, which the takeover honours). Also: an index on claim_token, and fillfactor 70 so that
a row's ledger write keeps its new version on its page.

Revision ID: 4d9b2f6e8a13
Revises: 8c4e2a6f1b39
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "4d9b2f6e8a13"
down_revision: str | None = "8c4e2a6f1b39"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_claims",
        sa.Column("claim_token", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("company_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("claim_token", name=op.f("pk_sync_claims")),
    )
    op.create_index("ix_sync_claims_company_id", "sync_claims", ["company_id"])
    op.create_index("ix_tsr_claim_token", "timecard_sync_records", ["claim_token"],
                    postgresql_where=sa.text("claim_token IS NOT NULL"))
    op.execute("ALTER TABLE timecard_sync_records SET (fillfactor = 70)")


def downgrade() -> None:
    op.execute("ALTER TABLE timecard_sync_records RESET (fillfactor)")
    op.drop_index("ix_tsr_claim_token", table_name="timecard_sync_records")
    op.drop_index("ix_sync_claims_company_id", table_name="sync_claims")
    op.drop_table("sync_claims")
