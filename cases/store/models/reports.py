"""Issued reports (6.3.7, 6.5.2, 6.6): frozen as records. Re-running a report issues a new
revision; triggers refuse any UPDATE or DELETE of an issued one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cases.store.models.base import Base, BigId


class IssuedReport(Base):
    __tablename__ = "issued_reports"
    __table_args__ = (UniqueConstraint("kind", "period", "revision"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # cases.reports.kinds.ReportKind
    period: Mapped[str] = mapped_column(String(30))  # 2026Q3, 2026, 2026-07-01..2026-08-15
    revision: Mapped[int]
    record_number: Mapped[str] = mapped_column(String(60), unique=True)  # DFCPXS009A-2026Q3-R1
    language: Mapped[str] = mapped_column(String(8))
    data: Mapped[dict[str, Any]]  # the sections as issued
    html: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)  # None where no PDF renderer is installed
    xlsx: Mapped[bytes] = mapped_column(LargeBinary)
    issued_by: Mapped[str] = mapped_column(String(120))
    approved_by: Mapped[str] = mapped_column(String(120))
    issued_at: Mapped[datetime]


class ReportReminder(Base):
    """A reminder that a periodic report is due and not issued: one row per (kind, period),
    written with its REPORT_DUE event in one transaction. The unique key, not a check in the
    code, keeps two instances scanning at once (or a restart) from reminding twice."""

    __tablename__ = "report_reminders"
    __table_args__ = (UniqueConstraint("kind", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # cases.reports.kinds.ReportKind
    period: Mapped[str] = mapped_column(String(30))  # 2026Q3
    due_on: Mapped[date]  # the first day the report was overdue, in KEFU_TIMEZONE
    reminded_at: Mapped[datetime]
