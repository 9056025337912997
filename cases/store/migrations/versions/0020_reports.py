"""issued reports: the marketing summary, the yearly service summary, management review
statistics, frozen as records (append-only)

Revision ID: 0020
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0020"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issued_reports",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=30), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("record_number", sa.String(length=60), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("xlsx", sa.LargeBinary(), nullable=False),
        sa.Column("issued_by", sa.String(length=120), nullable=False),
        sa.Column("approved_by", sa.String(length=120), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_reports")),
        sa.UniqueConstraint("kind", "period", "revision", name=op.f("uq_issued_reports_kind_period_revision")),
        sa.UniqueConstraint("record_number", name=op.f("uq_issued_reports_record_number")),
    )
    # An issued report is a record (procedure section 8): refuse UPDATE and DELETE in the
    # database itself, as for the case history.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER issued_reports_append_only BEFORE UPDATE OR DELETE ON issued_reports "
            "FOR EACH ROW EXECUTE FUNCTION kefu_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER issued_reports_no_{verb.lower()} BEFORE {verb} ON issued_reports "
                "BEGIN SELECT RAISE(ABORT, 'kefu: issued_reports is append-only'); END"
            )


def downgrade() -> None:
    op.drop_table("issued_reports")  # its triggers go with it
