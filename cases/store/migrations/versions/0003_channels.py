"""fax gateway, staff-logged entries, contact merges (issue 3)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "staff_entries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("form_token", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_staff_entries_case_id_cases")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_staff_entries_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_entries")),
        sa.UniqueConstraint("form_token", name=op.f("uq_staff_entries_form_token")),
    )
    with op.batch_alter_table("staff_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_entries_case_id"), ["case_id"], unique=False)

    op.create_table(
        "archive_merges",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("moved", JSON, nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_merges")),
    )

    op.create_table(
        "document_texts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("attachment_id", BIG_ID, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"], ["attachments.id"], name=op.f("fk_document_texts_attachment_id_attachments")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_document_texts_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_texts")),
        sa.UniqueConstraint("attachment_id", name=op.f("uq_document_texts_attachment_id")),
    )
    with op.batch_alter_table("document_texts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_texts_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("document_texts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_texts_case_id"))
    op.drop_table("document_texts")
    op.drop_table("archive_merges")
    with op.batch_alter_table("staff_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_entries_case_id"))
    op.drop_table("staff_entries")
