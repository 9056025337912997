"""The 8D corrective action of a high or critical case (procedure 6.3.3-6.3.5): its review team,
each step D0-D8 as versioned records, repeat links, and the failure-mode
list (cases/quality/, docs/quality.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cases.store.models.base import Base, BigId


class FailureMode(Base):
    """The managed failure-mode list (zh / en): cases and warranty parts name a code of it."""

    __tablename__ = "failure_modes"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime]


class ReviewTeamMember(Base):
    """A named member of a case's review team (6.3.3); their department may read the case."""

    __tablename__ = "review_team_members"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    leader: Mapped[bool] = mapped_column(default=False)
    added_by: Mapped[str] = mapped_column(String(120))
    added_at: Mapped[datetime]


class EightDReport(Base):
    """The 8D as a whole: its revision (raised each time the customer sends it back)."""

    __tablename__ = "eightd_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    revision: Mapped[int] = mapped_column(default=1)
    opened_by: Mapped[str] = mapped_column(String(120))
    opened_at: Mapped[datetime]
    returned_step: Mapped[str | None] = mapped_column(String(4))
    customer_comment: Mapped[str | None] = mapped_column(Text)
    returned_at: Mapped[datetime | None]


class EightDStep(Base):
    """One version of one step (D0-D8). A signed version is never changed: an edit after the
    signature, or the customer's rejection, adds the next version."""

    __tablename__ = "eightd_steps"
    __table_args__ = (UniqueConstraint("case_id", "step", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    step: Mapped[str] = mapped_column(String(4))  # D0 ... D8
    version: Mapped[int] = mapped_column(default=1)
    report_revision: Mapped[int] = mapped_column(default=1)
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    edited_by: Mapped[str] = mapped_column(String(120))
    edited_at: Mapped[datetime]
    signed_by: Mapped[str | None] = mapped_column(String(120))
    signed_role: Mapped[str | None] = mapped_column(String(20))
    signed_at: Mapped[datetime | None]
    customer_comment: Mapped[str | None] = mapped_column(Text)  # why the customer sent it back


class CaseLink(Base):
    """A repeat: `case_id` has the same part number and failure mode as the earlier `earlier_id`."""

    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("case_id", "earlier_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    earlier_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="repeat")
    part_number: Mapped[str] = mapped_column(String(80))
    failure_mode: Mapped[str] = mapped_column(String(40))
    found_at: Mapped[datetime]
