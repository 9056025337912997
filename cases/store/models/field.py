"""Field data (procedure 6.5): failure records fed by complaints, warranty parts and service
reports; shipments imported per part, batch, customer and month; the early warning's editable
thresholds and the alerts it raised (cases/field/, docs/field-data.md)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cases.store.models.base import Base, BigId


class FieldFailure(Base):
    """One failure in the field as the statistics count it: one event (a complaint, a returned
    part or lot, a part replaced on site), with the quantity it concerns. One row per source
    (`source_kind`, `source_id`): feeding it again updates it, never doubles it."""

    __tablename__ = "field_failures"
    __table_args__ = (
        UniqueConstraint("source_kind", "source_id"),
        Index("ix_field_failures_cell", "failure_date", "part_number", "failure_mode", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_kind: Mapped[str] = mapped_column(String(20))  # complaint, warranty_part, service_report
    source_id: Mapped[int] = mapped_column(BigId)  # the case, warranty part or service report id
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    part_number: Mapped[str] = mapped_column(String(80))
    batch: Mapped[str | None] = mapped_column(String(80), index=True)
    failure_mode: Mapped[str] = mapped_column(String(40), default="")  # "" when not (yet) known
    failure_date: Mapped[date] = mapped_column(Date)
    production_date: Mapped[date | None] = mapped_column(Date)  # of the part or its batch
    months_in_service: Mapped[int | None]
    mileage_km: Mapped[int | None]
    quantity: Mapped[int] = mapped_column(default=1)
    recorded_at: Mapped[datetime]


class Shipment(Base):
    """Parts shipped to a customer in a month, per batch (imported, `kefu import shipments`).
    `batch` and `customer` are "" when the file leaves them out, so the unique key holds."""

    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("part_number", "batch", "customer", "month"),
        Index("ix_shipments_batch", "batch"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    part_number: Mapped[str] = mapped_column(String(80))
    batch: Mapped[str] = mapped_column(String(80), default="")
    customer: Mapped[str] = mapped_column(String(200), default="")  # the name or code as in the file
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))  # when the archive knows it
    month: Mapped[date] = mapped_column(Date)  # the first day of the month shipped
    quantity: Mapped[int]
    source: Mapped[str] = mapped_column(String(255), default="")  # the file and line it came from
    imported_at: Mapped[datetime]


class WarningThreshold(Base):
    """An editable rule of the early warning: for a part and failure mode ("*" for any), the
    false-alarm probability a signal must beat and the fewest failures that may signal."""

    __tablename__ = "warning_thresholds"
    __table_args__ = (UniqueConstraint("part_number", "failure_mode"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    part_number: Mapped[str] = mapped_column(String(80))
    failure_mode: Mapped[str] = mapped_column(String(40))
    alpha: Mapped[float]
    min_count: Mapped[int]
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime]


class WarningAlert(Base):
    """An early-warning alert (早期报警, 6.5): one cell's signal, the numbers behind it, the
    cases it links, and the decision of the person who acknowledged it."""

    __tablename__ = "warning_alerts"
    __table_args__ = (UniqueConstraint("cell", "raised_on"), Index("ix_warning_alerts_cell", "cell", "raised_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    cell: Mapped[str] = mapped_column(String(200))  # part|mode|customer id ("" for all customers)
    part_number: Mapped[str] = mapped_column(String(80))
    failure_mode: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    rule: Mapped[str] = mapped_column(String(20))  # c_chart (counts) or u_chart (rate per unit shipped)
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    observed: Mapped[int]
    expected: Mapped[float]
    upper_limit: Mapped[int]  # the smallest count that signals at this alpha (the c-chart's UCL)
    p_value: Mapped[float]
    exposure: Mapped[float | None]  # units in service in the window (u-chart), when shipments are known
    raised_on: Mapped[date] = mapped_column(Date)
    raised_at: Mapped[datetime]
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))  # the notice's case (the latest)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    acknowledged_at: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(String(20))  # see cases/field/alerts.py
    note: Mapped[str | None] = mapped_column(Text)


class WarningAlertCase(Base):
    """A case behind an alert (its failure records in the signal's window)."""

    __tablename__ = "warning_alert_cases"

    alert_id: Mapped[int] = mapped_column(ForeignKey("warning_alerts.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
