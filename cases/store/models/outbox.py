"""Outbox: events written in the case's own transaction, and their deliveries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.domain.enums import Channel, Language
from cases.store.models.base import Base, BatchInserted, BigId, enum_column

if TYPE_CHECKING:
    from cases.store.models.case import Case


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # gave up: permanent error or too many attempts; visible to staff
    SUPPRESSED = "suppressed"  # a rule (loop cap, no address) decided not to send


class OutboxEvent(BatchInserted, Base):
    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_pending", "fanned_out_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # An EventKind value, kept a plain string: an event of a kind this version does not know
    # (written by a newer instance) must still load, so that the fan-out can set it aside.
    kind: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    fanned_out_at: Mapped[datetime | None]
    # Set when the event could not be fanned out even on its own (logged; the others go on).
    fanout_error: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case | None] = relationship(lazy="raise")


class Delivery(BatchInserted, Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "audience", "channel", "recipient"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    audience: Mapped[str] = mapped_column(String(20))  # "customer" or "staff" (routing.Notice.audience)
    template: Mapped[str] = mapped_column(String(40))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, 20))
    recipient: Mapped[str] = mapped_column(String(254))
    language: Mapped[Language] = mapped_column(enum_column(Language, 8), default=Language.ZH)
    # Outgoing Message-ID, chosen before sending so that replies thread even before it is sent.
    message_id: Mapped[str | None] = mapped_column(String(500), index=True)
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus, 20), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    # The instance (KEFU_INSTANCE_ID) holding the lease: its restart, or anyone once its
    # heartbeat is stale, takes the lease back at once (notifications/leases.py).
    leased_by: Mapped[str | None] = mapped_column(String(64), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # What the last delivery status notification (bounce) about this notice said (RFC 3464).
    dsn_action: Mapped[str | None] = mapped_column(String(20))  # failed, delayed
    dsn_status: Mapped[str | None] = mapped_column(String(20))  # RFC 3463: 5.1.1, 4.4.1
    dsn_diagnostic: Mapped[str | None] = mapped_column(Text)
    dsn_at: Mapped[datetime | None]
