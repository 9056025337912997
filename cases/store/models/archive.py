"""The customer archive (客户档案): customers, their contacts and the contacts' identities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.store.models.base import Base, BatchInserted, BigId


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(40), unique=True)
    # Unknown senders land in the one "unassigned" customer until staff attach them.
    is_unassigned: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str] = mapped_column(String(8), default="zh")
    created_at: Mapped[datetime]


class Contact(BatchInserted, Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8), default="zh")
    # The procedure: reply "in the way the customer asked for".
    preferred_channel: Mapped[str] = mapped_column(String(20), default="email")
    created_at: Mapped[datetime]

    identities: Mapped[list["Identity"]] = relationship(lazy="raise", back_populates="contact")
    customer: Mapped[Customer] = relationship(lazy="raise")


class Identity(BatchInserted, Base):
    """One way to reach a contact: an email address now; phone, fax, Telegram chat later."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # a cases.domain.enums.Channel value
    value: Mapped[str] = mapped_column(String(254))  # normalised: lower-case address, E.164
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    contact: Mapped[Contact] = relationship(back_populates="identities", lazy="raise")
