"""report reminders: one row per (kind, period) a reminder went out for, so that it goes once

Revision ID: 0021
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0021"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_reminders",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=30), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_reminders")),
        sa.UniqueConstraint("kind", "period", name=op.f("uq_report_reminders_kind_period")),
    )


def downgrade() -> None:
    op.drop_table("report_reminders")
