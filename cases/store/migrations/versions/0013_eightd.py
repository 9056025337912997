"""the 8D: failure category and mode on the form, the severity table, the failure-mode list,
review teams, 8D steps (versioned) and reports, repeat links

Revision ID: 0013
Revises: 0019
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The severity table as the issue proposes it (an admin changes it: PUT /severity-rules/...).
SEVERITY_RULES = {
    "safety": "critical",
    "function": "high",
    "fit": "medium",
    "appearance": "low",
    "documentation": "low",
}
# A first managed failure-mode list (zh / en); Quality keeps it (PUT /failure-modes/...).
FAILURE_MODES = (
    ("NOISE", "异响", "Noise"),
    ("LEAK", "泄漏", "Leak"),
    ("CRACK", "开裂", "Crack"),
    ("WEAR", "磨损", "Wear"),
    ("CORROSION", "锈蚀", "Corrosion"),
    ("DIMENSION", "尺寸超差", "Out of dimension"),
    ("NO-FUNCTION", "功能失效", "Loss of function"),
    ("APPEARANCE", "外观缺陷", "Appearance defect"),
    ("WRONG-PART", "错装漏装", "Wrong or missing part"),
    ("DOCUMENTATION", "文件标识错误", "Documentation or label error"),
)

revision = "0013"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "failure_modes",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_failure_modes")),
    )
    op.create_table(
        "severity_rules",
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("grade", sa.String(length=20), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_severity_rules")),
    )
    op.create_table(
        "case_links",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("case_id", BIGID, nullable=False),
        sa.Column("earlier_id", BIGID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("part_number", sa.String(length=80), nullable=False),
        sa.Column("failure_mode", sa.String(length=40), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_links_case_id_cases")),
        sa.ForeignKeyConstraint(["earlier_id"], ["cases.id"], name=op.f("fk_case_links_earlier_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_links")),
        sa.UniqueConstraint("case_id", "earlier_id", name=op.f("uq_case_links_case_id_earlier_id")),
    )
    with op.batch_alter_table("case_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_links_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_links_earlier_id"), ["earlier_id"], unique=False)

    op.create_table(
        "eightd_reports",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("case_id", BIGID, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("opened_by", sa.String(length=120), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("returned_step", sa.String(length=4), nullable=True),
        sa.Column("customer_comment", sa.Text(), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_eightd_reports_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eightd_reports")),
        sa.UniqueConstraint("case_id", name=op.f("uq_eightd_reports_case_id")),
    )
    op.create_table(
        "eightd_steps",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("case_id", BIGID, nullable=False),
        sa.Column("step", sa.String(length=4), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("report_revision", sa.Integer(), nullable=False),
        sa.Column(
            "content", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("edited_by", sa.String(length=120), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_by", sa.String(length=120), nullable=True),
        sa.Column("signed_role", sa.String(length=20), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("customer_comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_eightd_steps_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eightd_steps")),
        sa.UniqueConstraint("case_id", "step", "version", name=op.f("uq_eightd_steps_case_id_step_version")),
    )
    with op.batch_alter_table("eightd_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eightd_steps_case_id"), ["case_id"], unique=False)

    op.create_table(
        "review_team_members",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("case_id", BIGID, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("department_id", BIGID, nullable=False),
        sa.Column("user_id", BIGID, nullable=True),
        sa.Column("leader", sa.Boolean(), nullable=False),
        sa.Column("added_by", sa.String(length=120), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_review_team_members_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_review_team_members_department_id_departments")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_review_team_members_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_team_members")),
    )
    with op.batch_alter_table("review_team_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_team_members_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_team_members_department_id"), ["department_id"], unique=False)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failure_category", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("failure_mode", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("field_failure", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("severity_by_approver", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f("ix_cases_failure_mode"), ["failure_mode"], unique=False)

    now = datetime.now(UTC)
    rules = sa.table(
        "severity_rules",
        sa.column("category", sa.String),
        sa.column("grade", sa.String),
        sa.column("updated_by", sa.String),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        rules,
        [{"category": c, "grade": g, "updated_by": "migration", "updated_at": now} for c, g in SEVERITY_RULES.items()],
    )
    modes = sa.table(
        "failure_modes",
        sa.column("code", sa.String),
        sa.column("name_zh", sa.String),
        sa.column("name_en", sa.String),
        sa.column("active", sa.Boolean),
        sa.column("updated_by", sa.String),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        modes,
        [
            {"code": c, "name_zh": zh, "name_en": en, "active": True, "updated_by": "migration", "updated_at": now}
            for c, zh, en in FAILURE_MODES
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_failure_mode"))
        batch_op.drop_column("severity_by_approver")
        batch_op.drop_column("field_failure")
        batch_op.drop_column("failure_mode")
        batch_op.drop_column("failure_category")

    with op.batch_alter_table("review_team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_team_members_department_id"))
        batch_op.drop_index(batch_op.f("ix_review_team_members_case_id"))

    op.drop_table("review_team_members")
    with op.batch_alter_table("eightd_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eightd_steps_case_id"))

    op.drop_table("eightd_steps")
    op.drop_table("eightd_reports")
    with op.batch_alter_table("case_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_links_earlier_id"))
        batch_op.drop_index(batch_op.f("ix_case_links_case_id"))

    op.drop_table("case_links")
    op.drop_table("severity_rules")
    op.drop_table("failure_modes")
