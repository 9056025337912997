"""Telegram updates, chats, conversations, link tokens (issue 4)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "telegram_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", TIME, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("processed_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_telegram_updates")),
    )
    op.create_index("ix_telegram_updates_status_id", "telegram_updates", ["status", "update_id"], unique=False)
    op.create_table(
        "telegram_staff_chats",
        sa.Column("id", ID, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("awaiting", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_telegram_staff_chats_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_staff_chats")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_telegram_staff_chats_chat_id")),
        sa.UniqueConstraint("user_id", name=op.f("uq_telegram_staff_chats_user_id")),
    )
    op.create_table(
        "telegram_conversations",
        sa.Column("id", ID, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("step", sa.String(length=30), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("case_reference", sa.String(length=20), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("finished_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_conversations")),
    )
    op.create_index(
        "ix_telegram_conversations_chat_open", "telegram_conversations", ["chat_id", "finished_at"], unique=False
    )
    op.create_table(
        "telegram_link_tokens",
        sa.Column("id", ID, nullable=False),
        sa.Column("nonce", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("used_at", TIME, nullable=True),
        sa.Column("used_chat_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_link_tokens")),
        sa.UniqueConstraint("nonce", name=op.f("uq_telegram_link_tokens_nonce")),
    )


def downgrade() -> None:
    op.drop_table("telegram_link_tokens")
    op.drop_index("ix_telegram_conversations_chat_open", table_name="telegram_conversations")
    op.drop_table("telegram_conversations")
    op.drop_table("telegram_staff_chats")
    op.drop_index("ix_telegram_updates_status_id", table_name="telegram_updates")
    op.drop_table("telegram_updates")
