"""company_books: the company's QuickBooks Preferences that refuse time entries (closing date, class and
location tracking), read at connect and on each directory import (issue 15)

Revision ID: a7c2e4f6b813
Revises: 5e7a9c1d2b40
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a7c2e4f6b813"
down_revision: str | None = "5e7a9c1d2b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "company_books",
        sa.Column("integration_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("company_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("book_close_date", sa.Date(), nullable=True),
        sa.Column("class_tracking", sa.Boolean(), nullable=False),
        sa.Column("department_tracking", sa.Boolean(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["integration_id"], ["integrations.id"], ondelete="CASCADE",
                                name=op.f("fk_company_books_integration_id_integrations")),
        sa.ForeignKeyConstraint(["company_id"], ["core.companies.id"], ondelete="CASCADE",
                                name=op.f("fk_company_books_company_id_companies")),
        sa.PrimaryKeyConstraint("integration_id", name=op.f("pk_company_books")),
        sa.UniqueConstraint("company_id", name=op.f("uq_company_books_company_id")),
    )


def downgrade() -> None:
    op.drop_table("company_books")
