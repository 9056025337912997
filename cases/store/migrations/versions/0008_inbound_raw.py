"""raw inbound bytes in their own table, apart from the row whose outcome is updated

SQLite rewrites a whole record on every UPDATE: marking an inbound row processed wrote its
raw bytes to the write-ahead log a second time.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
        raise RuntimeError(
            f"kefu needs SQLite 3.35 or newer for this upgrade (ALTER TABLE ... DROP COLUMN); "
            f"this Python has SQLite {sqlite3.sqlite_version}"
        )
    op.create_table(
        "inbound_raw",
        sa.Column("inbound_id", _ID, nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["inbound_messages.id"], name=op.f("fk_inbound_raw_inbound_id_inbound_messages")
        ),
        sa.PrimaryKeyConstraint("inbound_id", name=op.f("pk_inbound_raw")),
    )
    op.execute("INSERT INTO inbound_raw (inbound_id, raw) SELECT id, raw FROM inbound_messages")
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35 and newer), not batch mode's rebuild:
    # with foreign keys on, SQLite refuses to drop a table other rows refer to (case messages,
    # the raw rows), and a deferred check still fails at commit after the copy is renamed in.
    op.drop_column("inbound_messages", "raw")


def downgrade() -> None:
    op.add_column("inbound_messages", sa.Column("raw", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE inbound_messages SET raw = (SELECT r.raw FROM inbound_raw r WHERE r.inbound_id = inbound_messages.id)"
    )
    if op.get_bind().dialect.name != "sqlite":  # SQLite could add NOT NULL only by a rebuild (above)
        op.alter_column("inbound_messages", "raw", existing_type=sa.LargeBinary(), nullable=False)
    op.drop_table("inbound_raw")
