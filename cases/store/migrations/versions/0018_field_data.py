"""field data and early warning: field failure records, shipments, warning thresholds,
early-warning alerts and the cases behind them

Revision ID: 0018
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


revision = "0018"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "field_failures",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("source_kind", sa.String(length=20), nullable=False),
        sa.Column("source_id", BIGID, nullable=False),
        sa.Column("case_id", BIGID, nullable=True),
        sa.Column("customer_id", BIGID, nullable=True),
        sa.Column("part_number", sa.String(length=80), nullable=False),
        sa.Column("batch", sa.String(length=80), nullable=True),
        sa.Column("failure_mode", sa.String(length=40), nullable=False),
        sa.Column("failure_date", sa.Date(), nullable=False),
        sa.Column("production_date", sa.Date(), nullable=True),
        sa.Column("months_in_service", sa.Integer(), nullable=True),
        sa.Column("mileage_km", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_field_failures_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_field_failures_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_failures")),
        sa.UniqueConstraint("source_kind", "source_id", name=op.f("uq_field_failures_source_kind_source_id")),
    )
    with op.batch_alter_table("field_failures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_field_failures_cell", ["failure_date", "part_number", "failure_mode", "customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_field_failures_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_field_failures_batch"), ["batch"], unique=False)

    op.create_table(
        "shipments",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("part_number", sa.String(length=80), nullable=False),
        sa.Column("batch", sa.String(length=80), nullable=False),
        sa.Column("customer", sa.String(length=200), nullable=False),
        sa.Column("customer_id", BIGID, nullable=True),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_shipments_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
        sa.UniqueConstraint(
            "part_number", "batch", "customer", "month", name=op.f("uq_shipments_part_number_batch_customer_month")
        ),
    )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index("ix_shipments_batch", ["batch"], unique=False)

    op.create_table(
        "warning_thresholds",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("part_number", sa.String(length=80), nullable=False),
        sa.Column("failure_mode", sa.String(length=40), nullable=False),
        sa.Column("alpha", sa.Double(), nullable=False),
        sa.Column("min_count", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning_thresholds")),
        sa.UniqueConstraint("part_number", "failure_mode", name=op.f("uq_warning_thresholds_part_number_failure_mode")),
    )
    op.create_table(
        "warning_alerts",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("cell", sa.String(length=200), nullable=False),
        sa.Column("part_number", sa.String(length=80), nullable=False),
        sa.Column("failure_mode", sa.String(length=40), nullable=False),
        sa.Column("customer_id", BIGID, nullable=True),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Double(), nullable=False),
        sa.Column("upper_limit", sa.Integer(), nullable=False),
        sa.Column("p_value", sa.Double(), nullable=False),
        sa.Column("exposure", sa.Double(), nullable=True),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_id", BIGID, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=120), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_warning_alerts_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_warning_alerts_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning_alerts")),
        sa.UniqueConstraint("cell", "raised_on", name=op.f("uq_warning_alerts_cell_raised_on")),
    )
    with op.batch_alter_table("warning_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_warning_alerts_cell", ["cell", "raised_at"], unique=False)

    op.create_table(
        "warning_alert_cases",
        sa.Column("alert_id", BIGID, nullable=False),
        sa.Column("case_id", BIGID, nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["warning_alerts.id"], name=op.f("fk_warning_alert_cases_alert_id_warning_alerts")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_warning_alert_cases_case_id_cases")),
        sa.PrimaryKeyConstraint("alert_id", "case_id", name=op.f("pk_warning_alert_cases")),
    )
    with op.batch_alter_table("warning_alert_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warning_alert_cases_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("warning_alert_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warning_alert_cases_case_id"))
    op.drop_table("warning_alert_cases")
    with op.batch_alter_table("warning_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_warning_alerts_cell")
    op.drop_table("warning_alerts")
    op.drop_table("warning_thresholds")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index("ix_shipments_batch")
    op.drop_table("shipments")
    with op.batch_alter_table("field_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_failures_batch"))
        batch_op.drop_index(batch_op.f("ix_field_failures_case_id"))
        batch_op.drop_index("ix_field_failures_cell")
    op.drop_table("field_failures")
