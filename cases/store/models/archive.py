"""The customer archive (客户档案): customers, their contacts and the contacts' identities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.domain.enums import Channel, Language
from cases.store.models.base import Base, BatchInserted, BigId, enum_column


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(40), unique=True)
    # Unknown senders land in the one "unassigned" customer until staff attach them.
    is_unassigned: Mapped[bool] = mapped_column(default=False)
    language: Mapped[Language] = mapped_column(enum_column(Language, 8), default=Language.ZH)
    # Days to keep this customer's closed cases when the customer (or IATF for them) asks for
    # longer than the record class's period; None: the class's period.
    retention_days: Mapped[int | None]
    created_at: Mapped[datetime]


class Contact(BatchInserted, Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[Language] = mapped_column(enum_column(Language, 8), default=Language.ZH)
    # The procedure: reply "in the way the customer asked for".
    preferred_channel: Mapped[Channel] = mapped_column(enum_column(Channel, 20), default=Channel.EMAIL)
    created_at: Mapped[datetime]

    identities: Mapped[list[Identity]] = relationship(lazy="raise", back_populates="contact")
    customer: Mapped[Customer] = relationship(lazy="raise")


class Identity(BatchInserted, Base):
    """One way to reach a contact: an email address now; phone, fax, Telegram chat later."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    kind: Mapped[Channel] = mapped_column(enum_column(Channel, 20))
    value: Mapped[str] = mapped_column(String(254))  # normalised: lower-case address, E.164
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # A permanent delivery failure (bounce) to this address: no customer notice goes here
    # until staff clear the mark (a wrong match must not silence a customer for good).
    bounced_at: Mapped[datetime | None]
    bounce_status: Mapped[str | None] = mapped_column(String(20))

    contact: Mapped[Contact] = relationship(back_populates="identities", lazy="raise")
