"""intake and notices: every rating a case was given (backfilled from the cases and their
history), a possible-duplicate mark and the forwarded mail on messages, the sniffed type of attachments, the page count of read documents

Revision ID: 0016
Revises: 0018
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0016"
down_revision = "0018"
branch_labels = None
depends_on = None

# The scores cases/services/satisfaction.py gives a rating word by default (copied: a
# migration must not change when the application does).
_DEFAULT_SCORE = {"satisfied": 4, "neutral": 3, "unsatisfied": 2}
_FIVE = re.compile(r"非常满意|很满意|十分满意|特别满意|very satisfied|excellent", re.IGNORECASE)
_ONE = re.compile(r"非常不满意|很不满意|十分不满意|特别不满意|极不满意|very dissatisfied|terrible", re.IGNORECASE)
_LOW_SCORE = re.compile(r"(?<![\d.])([12])(?:\s*分|\s*/\s*5|\s*星)?(?![\d.])")


def upgrade() -> None:
    op.create_table(
        "case_ratings",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("case_id", BIGID, nullable=False),
        sa.Column("rating", sa.String(length=20), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("recorded_by_user_id", BIGID, nullable=True),
        sa.Column("matched", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_ratings_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"], ["users.id"], name=op.f("fk_case_ratings_recorded_by_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_ratings")),
    )
    with op.batch_alter_table("case_ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_ratings_case_id"), ["case_id"], unique=False)
    op.add_column(
        "case_messages", sa.Column("possible_duplicate", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(
        "case_messages",
        sa.Column(
            "forwarded", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
    )
    op.add_column("document_texts", sa.Column("pages", sa.Integer(), nullable=True))
    op.add_column("attachments", sa.Column("sniffed_type", sa.String(length=120), nullable=True))
    _backfill_ratings()


def _backfill_ratings() -> None:
    """The rating each case holds now, and every 不满意 that reopened a case (the case forgot
    it; its history kept the answer)."""
    conn = op.get_bind()
    cases = sa.table(
        "cases",
        sa.column("id", sa.Integer),
        sa.column("rating", sa.String),
        sa.column("rating_score", sa.Integer),
        sa.column("reply_channel", sa.String),
        sa.column("closed_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    history = sa.table(
        "case_history",
        sa.column("case_id", sa.Integer),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("note", sa.Text),
    )
    ratings = sa.table(
        "case_ratings",
        sa.column("case_id", sa.Integer),
        sa.column("rating", sa.String),
        sa.column("score", sa.Integer),
        sa.column("channel", sa.String),
        sa.column("source", sa.String),
        sa.column("matched", sa.String),
        sa.column("note", sa.Text),
        sa.column("at", sa.DateTime(timezone=True)),
    )
    channels = dict(conn.execute(sa.select(cases.c.id, cases.c.reply_channel)).all())
    found: list[dict[str, object]] = []
    rated = conn.execute(
        sa.select(history.c.case_id, history.c.note).where(history.c.action == "rate").order_by(history.c.at)
    ).all()
    rate_notes = {case_id: note or "" for case_id, note in rated}  # the latest answer of each case
    for row in conn.execute(sa.select(cases).where(cases.c.rating.is_not(None))):
        note = rate_notes.get(row.id, "")
        score = row.rating_score
        if score is None and row.rating in _DEFAULT_SCORE:
            score = 5 if row.rating == "satisfied" and _FIVE.search(note) else _DEFAULT_SCORE[row.rating]
        found.append(
            {
                "case_id": row.id,
                "rating": row.rating,
                "score": score,
                "channel": row.reply_channel,
                "source": "backfill",
                "matched": note[:200],
                "note": "",
                "at": row.closed_at or row.updated_at,
            }
        )
    reopened = conn.execute(
        sa.select(history.c.case_id, history.c.at, history.c.note).where(
            history.c.action == "reopen", history.c.actor.like("customer:%")
        )
    ).all()
    for case_id, at, note in reopened:
        note = note or ""
        low = _LOW_SCORE.search(note)
        score = int(low.group(1)) if low else 1 if _ONE.search(note) else 2
        found.append(
            {
                "case_id": case_id,
                "rating": "unsatisfied",
                "score": score,
                "channel": channels.get(case_id, "email"),
                "source": "backfill",
                "matched": note[:200],
                "note": "",
                "at": at,
            }
        )
    if found:
        op.bulk_insert(ratings, sorted(found, key=lambda r: (r["case_id"], str(r["at"]))))


def downgrade() -> None:
    with op.batch_alter_table("document_texts") as batch:
        batch.drop_column("pages")
    with op.batch_alter_table("attachments") as batch:
        batch.drop_column("sniffed_type")
    with op.batch_alter_table("case_messages") as batch:
        batch.drop_column("forwarded")
        batch.drop_column("possible_duplicate")
    with op.batch_alter_table("case_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_ratings_case_id"))
    op.drop_table("case_ratings")
