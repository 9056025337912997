"""The case (the feedback / early-warning form), its conversation and its history."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Computed, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.domain.enums import (
    CaseState,
    CaseType,
    Channel,
    Direction,
    FailureCategory,
    Language,
    Satisfaction,
    Severity,
    Speaker,
)
from cases.domain.ranks import GRADE_ORDER, STATE_ORDER, rank_sql
from cases.store.models.base import Base, BatchInserted, BigId, enum_column

if TYPE_CHECKING:
    from cases.store.models.archive import Contact


class Case(BatchInserted, Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_state_department", "state", "department_id"),
        # The case list's sort keys with the id as tie-breaker: keyset paging walks them in
        # order, alone or after a state or a department (cases/queries/case_list.py).
        Index("ix_cases_received_at_id", "received_at", "id"),
        Index("ix_cases_updated_at_id", "updated_at", "id"),
        Index("ix_cases_state_received_at_id", "state", "received_at", "id"),
        Index("ix_cases_department_id_received_at_id", "department_id", "received_at", "id"),
        # The sorts of migration 0024: by reference, by the customer's deadline (the cases
        # without one after the others), by grade, by workflow step.
        Index("ix_cases_reference_id", "reference", "id"),
        Index("ix_cases_customer_deadline_id", "customer_deadline", "id"),
        # the cases without a deadline by id (PostgreSQL does not order `IS NULL` rows of the
        # index above by id; SQLite would, and takes either)
        Index(
            "ix_cases_id_no_deadline",
            "id",
            sqlite_where=text("customer_deadline IS NULL"),
            postgresql_where=text("customer_deadline IS NULL"),
        ),
        Index("ix_cases_severity_rank_id", "severity_rank", "id"),
        Index("ix_cases_state_rank_id", "state_rank", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    type: Mapped[CaseType] = mapped_column(enum_column(CaseType, 40))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, 20))
    state: Mapped[CaseState] = mapped_column(enum_column(CaseState, 30), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    part_number: Mapped[str | None] = mapped_column(String(80), index=True)
    batch: Mapped[str | None] = mapped_column(String(80))
    quantity: Mapped[int | None]
    vehicle: Mapped[str | None] = mapped_column(String(80))  # model or VIN
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, 20), default=Severity.MEDIUM)
    # The quality room (cases/quality/severity.py): what the severity is derived from, and who chose it.
    failure_category: Mapped[FailureCategory | None] = mapped_column(enum_column(FailureCategory, 20))
    failure_mode: Mapped[str | None] = mapped_column(String(40), index=True)  # a failure_modes code
    field_failure: Mapped[bool] = mapped_column(default=False)  # failed in the field, not at incoming inspection
    severity_by_approver: Mapped[bool] = mapped_column(default=False)  # the approver's choice wins over the table
    reply_channel: Mapped[Channel] = mapped_column(enum_column(Channel, 20))
    language: Mapped[Language] = mapped_column(enum_column(Language, 8), default=Language.ZH)
    customer_deadline: Mapped[datetime | None]  # by when the customer wants the answer / CAPA
    deadline_warned_at: Mapped[datetime | None]  # "deadline near" told to the department
    deadline_overdue_at: Mapped[datetime | None]  # "deadline passed" told to them and the approvers
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    linked_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    received_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # What each step recorded (procedure 6.3.3-6.3.6); the history keeps every change.
    no_action_reason: Mapped[str | None] = mapped_column(Text)
    analysis: Mapped[str | None] = mapped_column(Text)
    measures: Mapped[str | None] = mapped_column(Text)
    verification: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[Satisfaction | None] = mapped_column(enum_column(Satisfaction, 20))
    rating_score: Mapped[int | None]
    satisfaction_requested_at: Mapped[datetime | None]
    reminder_sent_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(default=0)
    # Record control (docs/records.md): a legal hold keeps the case past its retention; a purge
    # removes its personal data and keeps the part and failure facts.
    legal_hold: Mapped[bool] = mapped_column(default=False, server_default=false())
    legal_hold_reason: Mapped[str | None] = mapped_column(Text)
    purged_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    # Computed by the database from severity and state (cases/domain/ranks.py): the grade and
    # the workflow step as numbers, so the list sorts by them from an index. Every writer keeps
    # them right, a bulk insert or an UPDATE statement too; never written, never loaded with
    # the case (deferred): only the list's sort reads them.
    severity_rank: Mapped[int] = mapped_column(Computed(rank_sql("severity", GRADE_ORDER)), deferred=True)
    state_rank: Mapped[int] = mapped_column(Computed(rank_sql("state", STATE_ORDER)), deferred=True)

    __mapper_args__ = {"version_id_col": version}

    contact: Mapped[Contact] = relationship(lazy="raise")


class CaseMessage(BatchInserted, Base):
    """One message of the case's conversation, in or out, on any channel."""

    __tablename__ = "case_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    direction: Mapped[Direction] = mapped_column(enum_column(Direction, 8))
    # A Channel value, or "internal" for a note (Direction.NOTE): not typed as a Channel.
    channel: Mapped[str] = mapped_column(String(20))
    # RFC 5322 Message-ID (without <>), in or out: the first threading key.
    message_id: Mapped[str | None] = mapped_column(String(500), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sender: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    new_text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)  # sanitised; never served inline
    is_automatic: Mapped[bool] = mapped_column(default=False)
    # Who wrote an inbound message or a note that came in by mail; None for what staff wrote
    # in kefu and for what we sent.
    speaker: Mapped[Speaker | None] = mapped_column(enum_column(Speaker, 12))
    # The same Message-ID as an earlier message, with other content (a client that reuses ids,
    # a gateway that rewrites): joined to the earlier message's case, for a person to judge.
    possible_duplicate: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A mail forwarded inside this one: {"sender", "sender_name", "subject", "text"}.
    forwarded: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]

    attachments: Mapped[list[Attachment]] = relationship(
        lazy="raise", order_by="Attachment.id", back_populates="message"
    )
    # Many-to-one links let one flush insert a whole batch of new cases (insertmanyvalues).
    case: Mapped[Case] = relationship(lazy="raise")


class Blob(Base):
    """Attachment bytes, stored once per content hash (in the database: several instances share it)."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Attachment(BatchInserted, Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("case_messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))  # as declared by the sender
    # What the bytes say (cases/domain/filetypes.py); None when unknown or stored before 0016.
    sniffed_type: Mapped[str | None] = mapped_column(String(120))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))

    message: Mapped[CaseMessage] = relationship(lazy="raise", back_populates="attachments")


class CaseHistory(BatchInserted, Base):
    """Append-only: who did what when, before and after. Triggers refuse UPDATE and DELETE."""

    __tablename__ = "case_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(120))  # username, "customer:<address>", "system"
    action: Mapped[str] = mapped_column(String(40))  # an Action value, or "opened", "note", "logged", ...
    from_state: Mapped[CaseState | None] = mapped_column(enum_column(CaseState, 30))
    to_state: Mapped[CaseState | None] = mapped_column(enum_column(CaseState, 30))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)  # field -> [before, after]
    note: Mapped[str] = mapped_column(Text, default="")
    # Set once, by the records purge: the row's names and addresses were redacted. The triggers
    # allow this one change (redacted_at from empty to set, the facts unchanged) and no other.
    redacted_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship(lazy="raise")


class CaseRating(BatchInserted, Base):
    """Every satisfaction rating a case was given, with its score: the case keeps only the
    latest (and forgets an unsatisfied one when it reopens); reports average these."""

    __tablename__ = "case_ratings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    rating: Mapped[Satisfaction] = mapped_column(enum_column(Satisfaction, 20))
    score: Mapped[int | None]  # 1-5; None only for "no response"
    # How the answer came: email, telegram, ... or phone / visit when staff recorded it.
    channel: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(12))  # customer, staff, timer, backfill
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    matched: Mapped[str] = mapped_column(String(200), default="")  # what was read as the answer
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]

    case: Mapped[Case] = relationship(lazy="raise")


class ReferenceCounter(Base):
    """Per prefix and year: FB-2026-000123. A row lock serialises instances on PostgreSQL."""

    __tablename__ = "reference_counters"
    __table_args__ = (UniqueConstraint("prefix", "year"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(10))
    year: Mapped[int]
    last_value: Mapped[int] = mapped_column(default=0)
