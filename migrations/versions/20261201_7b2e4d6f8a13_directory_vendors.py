"""qbo_directory_records: Vendors (subcontractors) join the imported directory

Revision ID: 7b2e4d6f8a13
Revises: c4e6a8b0d2f1
Create Date: 2026-12-01 22:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7b2e4d6f8a13"
down_revision: str | None = "c4e6a8b0d2f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "qbo_directory_records"
CK = "ck_qbo_directory_records_entity_type"


def upgrade() -> None:
    op.drop_constraint(op.f(CK), T, type_="check")
    op.create_check_constraint(op.f(CK), T,
                               "entity_type IN ('Employee','Vendor','Customer','Item','Class','Department')")


def downgrade() -> None:
    op.execute(f"DELETE FROM {T} WHERE entity_type = 'Vendor'")
    op.drop_constraint(op.f(CK), T, type_="check")
    op.create_check_constraint(op.f(CK), T, "entity_type IN ('Employee','Customer','Item','Class','Department')")
