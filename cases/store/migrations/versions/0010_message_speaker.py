"""who wrote an inbound message: the customer, staff (a note by mail) or a third party

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("case_messages", sa.Column("speaker", sa.String(length=12), nullable=True))
    # Before this, every inbound message was taken as the customer's.
    op.execute("UPDATE case_messages SET speaker = 'customer' WHERE direction = 'in'")


def downgrade() -> None:
    with op.batch_alter_table("case_messages") as batch:
        batch.drop_column("speaker")
