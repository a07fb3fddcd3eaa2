"""One company, one realm: the realm a sync record's ids belong to, the admin's consent to switch
QuickBooks company (bound to the OAuth state), and the archive of what a switch set aside

Revision ID: c5e7a9b1d3f4
Revises: b3d5f7a9c1e2
Create Date: 2026-12-06 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c5e7a9b1d3f4"
down_revision: str | None = "b3d5f7a9c1e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("timecard_sync_records", sa.Column("realm_id", sa.String(64), nullable=True))
    # Every id recorded so far came from the realm the company is (or was last) connected to.
    op.execute("UPDATE timecard_sync_records t SET realm_id = i.realm_id FROM integrations i "
               "WHERE i.company_id = t.company_id AND i.type = 'quickbooks' "
               "AND (t.qbo_id IS NOT NULL OR t.pending_op IS NOT NULL)")
    op.add_column("oauth_states", sa.Column("allow_realm_switch", sa.Boolean(), server_default=sa.text("false"),
                                            nullable=False))
    op.create_table(
        "realm_archive",
        sa.Column("id", postgresql.UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("company_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("realm_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("ref", sa.String(100), nullable=True),
        sa.Column("record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_realm_archive")),
    )
    op.create_index("ix_realm_archive_company_realm", "realm_archive", ["company_id", "realm_id"])


def downgrade() -> None:
    op.drop_index("ix_realm_archive_company_realm", table_name="realm_archive")
    op.drop_table("realm_archive")
    op.drop_column("oauth_states", "allow_realm_switch")
    op.drop_column("timecard_sync_records", "realm_id")
