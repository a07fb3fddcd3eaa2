"""drift_findings: `superseded` (CrewFlow wrote the timecard again since) and `archived` (the company
switched to another QuickBooks company) end a finding too

Revision ID: b3d5f7a9c1e2
Revises: 9d4f1b3e6a57
Create Date: 2026-12-06 18:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b3d5f7a9c1e2"
down_revision: str | None = "9d4f1b3e6a57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW = "status IN ('open','pushed','accepted','dismissed','superseded','archived')"
_OLD = "status IN ('open','pushed','accepted','dismissed')"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_drift_findings_status"), "drift_findings", type_="check")
    op.create_check_constraint("status", "drift_findings", _NEW)


def downgrade() -> None:
    op.execute("UPDATE drift_findings SET status = 'dismissed' WHERE status IN ('superseded','archived')")
    op.drop_constraint(op.f("ck_drift_findings_status"), "drift_findings", type_="check")
    op.create_check_constraint("status", "drift_findings", _OLD)
