"""quality records and agreed deadlines: warranty parts, service reports, their files,
service agreement terms, the editable working-day calendar, a case's due steps

Revision ID: 0014
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    op.create_table(
        "agreement_terms",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("customer_id", BIGID, nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=4), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_agreement_terms_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_terms")),
        sa.UniqueConstraint("customer_id", "step", name=op.f("uq_agreement_terms_customer_id_step")),
    )
    with op.batch_alter_table("agreement_terms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreement_terms_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "due_steps",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("case_id", BIGID, nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("warn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_due_steps_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_due_steps")),
        sa.UniqueConstraint("case_id", "step", name=op.f("uq_due_steps_case_id_step")),
    )
    with op.batch_alter_table("due_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_due_steps_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_due_steps_open", ["done_at", "warn_at"], unique=False)

    op.create_table(
        "service_reports",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("case_id", BIGID, nullable=False),
        sa.Column("record_number", sa.String(length=30), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("engineers", sa.String(length=500), nullable=False),
        sa.Column("planned_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=False),
        sa.Column("equipment", sa.Text(), nullable=False),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("planned_by", sa.String(length=120), nullable=False),
        sa.Column("work_done", sa.Text(), nullable=True),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("parts_replaced", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("minutes_spent", sa.Integer(), nullable=True),
        sa.Column("failure_mode", sa.String(length=40), nullable=True),
        sa.Column("reported_by", sa.String(length=120), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=120), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("confirmation_message_id", sa.String(length=500), nullable=True),
        sa.Column("confirmation_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(length=254), nullable=True),
        sa.Column("confirmed_how", sa.String(length=20), nullable=True),
        sa.Column("confirmation_rating", sa.String(length=20), nullable=True),
        sa.Column("confirmation_text", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_service_reports_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_reports")),
        sa.UniqueConstraint("record_number", name=op.f("uq_service_reports_record_number")),
    )
    with op.batch_alter_table("service_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_reports_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_service_reports_confirmation_message_id"), ["confirmation_message_id"], unique=False
        )

    op.create_table(
        "warranty_parts",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("case_id", BIGID, nullable=False),
        sa.Column("part_number", sa.String(length=80), nullable=False),
        sa.Column("batch", sa.String(length=80), nullable=True),
        sa.Column("quantity_received", sa.Integer(), nullable=False),
        sa.Column("vin", sa.String(length=40), nullable=True),
        sa.Column("mileage_km", sa.Integer(), nullable=True),
        sa.Column("months_in_service", sa.Integer(), nullable=True),
        sa.Column("failure_description", sa.Text(), nullable=False),
        sa.Column("failure_mode", sa.String(length=40), nullable=True),
        sa.Column("failure_date", sa.Date(), nullable=True),
        sa.Column("production_date", sa.Date(), nullable=True),
        sa.Column("claim_number", sa.String(length=80), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("cost_cents", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("test_results", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_warranty_parts_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warranty_parts")),
    )
    with op.batch_alter_table("warranty_parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warranty_parts_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_warranty_parts_failure_mode"), ["failure_mode"], unique=False)
        batch_op.create_index(batch_op.f("ix_warranty_parts_part_number"), ["part_number"], unique=False)

    op.create_table(
        "quality_files",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("case_id", BIGID, nullable=False),
        sa.Column("warranty_part_id", BIGID, nullable=True),
        sa.Column("service_report_id", BIGID, nullable=True),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_quality_files_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["service_report_id"],
            ["service_reports.id"],
            name=op.f("fk_quality_files_service_report_id_service_reports"),
        ),
        sa.ForeignKeyConstraint(["sha256"], ["blobs.sha256"], name=op.f("fk_quality_files_sha256_blobs")),
        sa.ForeignKeyConstraint(
            ["warranty_part_id"], ["warranty_parts.id"], name=op.f("fk_quality_files_warranty_part_id_warranty_parts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_files")),
    )
    with op.batch_alter_table("quality_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quality_files_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quality_files_service_report_id"), ["service_report_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quality_files_warranty_part_id"), ["warranty_part_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quality_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quality_files_warranty_part_id"))
        batch_op.drop_index(batch_op.f("ix_quality_files_service_report_id"))
        batch_op.drop_index(batch_op.f("ix_quality_files_case_id"))

    op.drop_table("quality_files")
    with op.batch_alter_table("warranty_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warranty_parts_part_number"))
        batch_op.drop_index(batch_op.f("ix_warranty_parts_failure_mode"))
        batch_op.drop_index(batch_op.f("ix_warranty_parts_case_id"))

    op.drop_table("warranty_parts")
    with op.batch_alter_table("service_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_reports_confirmation_message_id"))
        batch_op.drop_index(batch_op.f("ix_service_reports_case_id"))

    op.drop_table("service_reports")
    with op.batch_alter_table("due_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_due_steps_open")
        batch_op.drop_index(batch_op.f("ix_due_steps_case_id"))

    op.drop_table("due_steps")
    with op.batch_alter_table("agreement_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_terms_customer_id"))

    op.drop_table("agreement_terms")
    op.drop_table("calendar_days")
