"""insert sentinels on the tables a batch fills (one multi-row INSERT per table on SQLite)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = (
    "contacts",
    "identities",
    "cases",
    "case_messages",
    "attachments",
    "case_history",
    "outbox_events",
    "deliveries",
)


def upgrade() -> None:
    for table in TABLES:
        # A nullable column: SQLite adds it without rebuilding the table.
        op.add_column(table, sa.Column("_sentinel", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("_sentinel")
