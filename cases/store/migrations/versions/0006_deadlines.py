"""customer deadline warnings: when the near and the passed notice went out

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("deadline_warned_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("deadline_overdue_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("deadline_overdue_at")
        batch.drop_column("deadline_warned_at")
