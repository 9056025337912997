"""the rule tables an admin keeps in one place: rule_settings (one row a changed key) and
rule_changes (every change and refused attempt); the severity table's rows move into
rule_settings (table "severity") and severity_rules goes

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# What 0013 seeded: a category the settings do not name gets it back on the way down.
SEVERITY_SEED = {
    "safety": "critical",
    "function": "high",
    "fit": "medium",
    "appearance": "low",
    "documentation": "low",
}

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    settings = op.create_table(
        "rule_settings",
        sa.Column("rule_table", sa.String(length=40), nullable=False),
        sa.Column("rule_key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.String(length=60), nullable=False),
        sa.Column("changed_by", sa.String(length=120), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rule_table", "rule_key", name=op.f("pk_rule_settings")),
    )
    op.create_table(
        "rule_changes",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("rule_table", sa.String(length=40), nullable=False),
        sa.Column("rule_key", sa.String(length=60), nullable=False),
        sa.Column("old_value", sa.String(length=60), nullable=True),
        sa.Column("new_value", sa.String(length=60), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("changed_by", sa.String(length=120), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_changes")),
    )
    with op.batch_alter_table("rule_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rule_changes_rule_table"), ["rule_table"], unique=False)

    old = sa.table(
        "severity_rules",
        sa.column("category", sa.String()),
        sa.column("grade", sa.String()),
        sa.column("updated_by", sa.String()),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(old.c.category, old.c.grade, old.c.updated_by, old.c.updated_at)).all()
    if rows:
        op.bulk_insert(
            settings,
            [
                {"rule_table": "severity", "rule_key": c, "value": g, "changed_by": by, "changed_at": at}
                for c, g, by, at in rows
            ],
        )
    op.drop_table("severity_rules")


def downgrade() -> None:
    severity = op.create_table(
        "severity_rules",
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("grade", sa.String(length=20), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_severity_rules")),
    )
    settings = sa.table(
        "rule_settings",
        sa.column("rule_table", sa.String()),
        sa.column("rule_key", sa.String()),
        sa.column("value", sa.String()),
        sa.column("changed_by", sa.String()),
        sa.column("changed_at", sa.DateTime(timezone=True)),
    )
    conn = op.get_bind()
    kept = {
        key: (value, by, at)
        for key, value, by, at in conn.execute(
            sa.select(settings.c.rule_key, settings.c.value, settings.c.changed_by, settings.c.changed_at).where(
                settings.c.rule_table == "severity"
            )
        )
    }
    now = datetime.now(UTC)
    rows = [{"category": c, "grade": g, "updated_by": "kefu", "updated_at": now} for c, g in SEVERITY_SEED.items()]
    for row in rows:
        if row["category"] in kept:
            row["grade"], row["updated_by"], row["updated_at"] = kept.pop(row["category"])
    rows += [{"category": c, "grade": g, "updated_by": by, "updated_at": at} for c, (g, by, at) in kept.items()]
    op.bulk_insert(severity, rows)
    with op.batch_alter_table("rule_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rule_changes_rule_table"))
    op.drop_table("rule_changes")
    op.drop_table("rule_settings")
