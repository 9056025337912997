"""IMAP folder cursors: how far kefu has read each mailbox folder (intake rules)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from cases.store.models.base import Base, BigId


class ImapCursor(Base):
    """`(UIDVALIDITY, last UID)` of one folder. UIDs are only comparable under one UIDVALIDITY
    (RFC 3501 section 2.3.1.1): a new one means the folder was rebuilt and is read again from
    the start; the dedupe key of the inbox keeps that from opening a case twice."""

    __tablename__ = "imap_cursors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(500), unique=True)  # user@host:port/folder
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]
