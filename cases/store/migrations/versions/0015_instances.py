"""instances with a heartbeat, and who holds each delivery's lease

Revision ID: 0015
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("leased_by", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_deliveries_leased_by"), ["leased_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index(batch.f("ix_deliveries_leased_by"))
        batch.drop_column("leased_by")
    op.drop_table("instances")
