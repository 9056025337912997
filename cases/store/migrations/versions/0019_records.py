"""record control: retention per record class, legal hold, purges, redactable history

Revision ID: 0019
Revises: 0014
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0019"
down_revision = "0014"
branch_labels = None
depends_on = None

DEFAULTS = {"case": 365, "raw_mail": 365, "outgoing_mail": 365}  # cases.domain.retention

# The history stays append-only: no DELETE, and no UPDATE but the purge's redaction, which sets
# redacted_at once and leaves the facts of the row (case, time, action, states) as they were.
REDACTION_ONLY = (
    "OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL AND NEW.id = OLD.id "
    "AND NEW.case_id = OLD.case_id AND NEW.at = OLD.at AND NEW.action = OLD.action "
    "AND NEW.actor_user_id IS NOT DISTINCT FROM OLD.actor_user_id "
    "AND NEW.from_state IS NOT DISTINCT FROM OLD.from_state "
    "AND NEW.to_state IS NOT DISTINCT FROM OLD.to_state"
)


def upgrade() -> None:
    record_classes = op.create_table(
        "record_classes",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_record_classes")),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        record_classes,
        [{"name": n, "retention_days": d, "updated_by": "system", "updated_at": now} for n, d in DEFAULTS.items()],
    )
    op.create_table(
        "purges",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("references", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purges")),
    )
    op.add_column("cases", sa.Column("legal_hold", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("cases", sa.Column("legal_hold_reason", sa.Text(), nullable=True))
    op.add_column("cases", sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("customers", sa.Column("retention_days", sa.Integer(), nullable=True))
    op.add_column("case_history", sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True))
    _guard_history(REDACTION_ONLY)


def downgrade() -> None:
    _guard_history(None)
    # In place (SQLite 3.35 and newer, as 0008), not batch mode's rebuild: other tables refer to
    # cases and customers, and a rebuild would drop the history's triggers.
    op.drop_column("case_history", "redacted_at")
    op.drop_column("customers", "retention_days")
    for column in ("purged_at", "legal_hold_reason", "legal_hold"):
        op.drop_column("cases", column)
    op.drop_table("purges")
    op.drop_table("record_classes")


def _guard_history(allowed_update: str | None) -> None:
    """Refuse every UPDATE of case_history but `allowed_update` (None: all), and every DELETE."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_history_append_only ON case_history")
        op.execute("DROP TRIGGER IF EXISTS case_history_no_delete ON case_history")
        op.execute("DROP TRIGGER IF EXISTS case_history_no_update ON case_history")
        if allowed_update is None:
            op.execute(
                "CREATE TRIGGER case_history_append_only BEFORE UPDATE OR DELETE ON case_history "
                "FOR EACH ROW EXECUTE FUNCTION kefu_append_only()"
            )
            return
        op.execute(
            "CREATE TRIGGER case_history_no_delete BEFORE DELETE ON case_history "
            "FOR EACH ROW EXECUTE FUNCTION kefu_append_only()"
        )
        op.execute(
            "CREATE TRIGGER case_history_no_update BEFORE UPDATE ON case_history "
            f"FOR EACH ROW WHEN (NOT ({allowed_update})) EXECUTE FUNCTION kefu_append_only()"
        )
        return
    op.execute("DROP TRIGGER IF EXISTS case_history_no_update")
    sqlite_rule = allowed_update.replace("IS NOT DISTINCT FROM", "IS") if allowed_update else None
    when = f"WHEN NOT ({sqlite_rule}) " if sqlite_rule else ""
    op.execute(
        f"CREATE TRIGGER case_history_no_update BEFORE UPDATE ON case_history {when}"
        "BEGIN SELECT RAISE(ABORT, 'kefu: case_history is append-only'); END"
    )
