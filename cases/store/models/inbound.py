"""Raw inbound input, stored before it is acknowledged; the quarantine is its held rows."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.domain.enums import Channel
from cases.store.models.base import Base, BigId, enum_column

if TYPE_CHECKING:
    from cases.store.models.case import Case


class InboundStatus(StrEnum):
    PENDING = "pending"  # stored, not yet processed
    PROCESSED = "processed"  # became a case or joined one
    QUARANTINED = "quarantined"  # could not be processed, or a rule held it; staff can re-run
    IGNORED = "ignored"  # a rule decided it needs no case (kept, visible, re-runnable)


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_messages_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, 20))
    # Message-ID plus a hash of the content: the same mail twice (a retry after a lost 250,
    # a crash between commit and IMAP flag) is stored once (Zammad #1662).
    dedupe_key: Mapped[str] = mapped_column(String(600), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(500))
    envelope_from: Mapped[str] = mapped_column(String(254), default="")
    envelope_to: Mapped[list[Any]] = mapped_column(default=list)
    size: Mapped[int]  # of the raw bytes (InboundRaw)
    received_at: Mapped[datetime]
    status: Mapped[InboundStatus] = mapped_column(enum_column(InboundStatus, 20), default=InboundStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str | None] = mapped_column(Text)  # why it is quarantined or ignored
    rule_hits: Mapped[list[Any]] = mapped_column(default=list)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    processed_at: Mapped[datetime | None]

    case: Mapped[Case | None] = relationship(lazy="raise")


class InboundRaw(Base):
    """The bytes of an inbound input exactly as they came, written with its row and never
    changed. Kept apart from the row, whose outcome is written when it is processed: SQLite
    rewrites a whole record on every UPDATE, the raw bytes with it (a 10 KB mail: nine times
    the CPU, forty times the bytes in the write-ahead log, measured on the status update)."""

    __tablename__ = "inbound_raw"

    inbound_id: Mapped[int] = mapped_column(BigId, ForeignKey("inbound_messages.id"), primary_key=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
