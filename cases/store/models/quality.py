"""Quality records on a case: warranty claim parts, on-site service reports, their files; the
agreed deadlines (service agreements, the working-day calendar, a case's due steps)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cases.store.models.base import Base, BigId


class WarrantyPart(Base):
    """One returned part or lot of a warranty claim (三包索赔件, procedure 6.2.6 / 6.2.8): the
    fields the early warning and the reports count, and Quality's responsibility decision."""

    __tablename__ = "warranty_parts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    part_number: Mapped[str] = mapped_column(String(80), index=True)
    batch: Mapped[str | None] = mapped_column(String(80))
    quantity_received: Mapped[int] = mapped_column(default=1)
    vin: Mapped[str | None] = mapped_column(String(40))  # the vehicle (VIN or model)
    mileage_km: Mapped[int | None]
    months_in_service: Mapped[int | None]
    failure_description: Mapped[str] = mapped_column(Text, default="")
    # A code of the managed failure-mode list (table failure_modes); linked at the merge.
    failure_mode: Mapped[str | None] = mapped_column(String(40), index=True)
    failure_date: Mapped[date | None] = mapped_column(Date)
    production_date: Mapped[date | None] = mapped_column(Date)  # of the part or its batch
    claim_number: Mapped[str | None] = mapped_column(String(80))  # the customer's
    received_on: Mapped[date | None] = mapped_column(Date)  # when the part reached us
    cost_cents: Mapped[int | None]  # the cost of the complaint where known, in cents
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    decision: Mapped[str | None] = mapped_column(String(20))  # ours, not_ours, no_trouble_found
    test_results: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]


class ServiceReport(Base):
    """An on-site service (procedure 6.2.7, 6.4): its plan and dispatch, then the engineer's
    report (服务报告单, record DFCPZL063A), its review and the customer's confirmation."""

    __tablename__ = "service_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    record_number: Mapped[str] = mapped_column(String(30), unique=True)
    state: Mapped[str] = mapped_column(String(20))  # cases/quality/service_states.py
    # plan and dispatch: who goes, when, where, with what
    engineers: Mapped[str] = mapped_column(String(500))
    planned_start: Mapped[datetime]
    location: Mapped[str] = mapped_column(String(500))
    equipment: Mapped[str] = mapped_column(Text, default="")
    task: Mapped[str] = mapped_column(Text)
    planned_by: Mapped[str] = mapped_column(String(120))
    # the report
    work_done: Mapped[str | None] = mapped_column(Text)
    findings: Mapped[str | None] = mapped_column(Text)
    parts_replaced: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    minutes_spent: Mapped[int | None]
    failure_mode: Mapped[str | None] = mapped_column(String(40))
    reported_by: Mapped[str | None] = mapped_column(String(120))
    reported_at: Mapped[datetime | None]
    # the management representative's review
    reviewed_by: Mapped[str | None] = mapped_column(String(120))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)
    # the confirmation request's own Message-ID: a reply to it answers this report
    confirmation_message_id: Mapped[str | None] = mapped_column(String(500), index=True)
    confirmation_requested_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[str | None] = mapped_column(String(254))
    confirmed_how: Mapped[str | None] = mapped_column(String(20))  # reply, paper
    confirmation_rating: Mapped[str | None] = mapped_column(String(20))  # a Satisfaction value
    confirmation_text: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(120))  # staff who recorded a paper one
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class QualityFile(Base):
    """A file staff uploaded to a quality record: test evidence of a warranty part, the scan of
    a service report confirmed on paper. The bytes are a blob (stored once per hash)."""

    __tablename__ = "quality_files"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    warranty_part_id: Mapped[int | None] = mapped_column(ForeignKey("warranty_parts.id"), index=True)
    service_report_id: Mapped[int | None] = mapped_column(ForeignKey("service_reports.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # evidence, confirmation_scan
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    uploaded_by: Mapped[str] = mapped_column(String(120))
    uploaded_at: Mapped[datetime]


class AgreementTerm(Base):
    """One term of a customer's service agreement (procedure 6.1.1): a step and its time,
    counted from the customer's notice. Customers without terms get the defaults (settings)."""

    __tablename__ = "agreement_terms"
    __table_args__ = (UniqueConstraint("customer_id", "step"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    step: Mapped[str] = mapped_column(String(20))  # first_answer, containment, root_cause, closure
    amount: Mapped[int]
    unit: Mapped[str] = mapped_column(String(4))  # h, d, wd
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime]


class CalendarDay(Base):
    """An entry of the editable working-day calendar: a public holiday or make-up working day
    (调休) of a year the calendar library does not know yet, a plant shutdown, an override."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # holiday, workday, shutdown
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime]


class DueStep(Base):
    """When a step of a case falls due (first answer, containment, root cause, closure) and
    whether its owner was warned and the approvers told it passed: each once."""

    __tablename__ = "due_steps"
    __table_args__ = (UniqueConstraint("case_id", "step"), Index("ix_due_steps_open", "done_at", "warn_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    step: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime]
    warn_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(20))  # agreement, default, customer
    done_at: Mapped[datetime | None]
    warned_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]
