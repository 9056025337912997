"""delivery status notifications: what a bounce said of a delivery, and the bounce mark of an address

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("dsn_action", sa.String(20), nullable=True))
    op.add_column("deliveries", sa.Column("dsn_status", sa.String(20), nullable=True))
    op.add_column("deliveries", sa.Column("dsn_diagnostic", sa.Text(), nullable=True))
    op.add_column("deliveries", sa.Column("dsn_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("identities", sa.Column("bounced_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("identities", sa.Column("bounce_status", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("bounce_status")
        batch.drop_column("bounced_at")
    with op.batch_alter_table("deliveries") as batch:
        for name in ("dsn_at", "dsn_diagnostic", "dsn_status", "dsn_action"):
            batch.drop_column(name)
