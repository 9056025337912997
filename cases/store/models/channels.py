"""Rows of the non-email channels: staff-logged entries, archive merges, text read from documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cases.domain.enums import Channel
from cases.store.models.base import Base, BigId, enum_column


class StaffEntry(Base):
    """A phone call, letter, visit or survey answer logged by staff.

    The unique form token makes a double submit (two clicks, a retried request) one case:
    idempotency in a constraint, not in an application check alone."""

    __tablename__ = "staff_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    form_token: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[Channel] = mapped_column(enum_column(Channel, 20))  # phone, letter, visit, survey, fax
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime]  # when the call / visit happened (the case's received time)
    created_at: Mapped[datetime]


class ArchiveMerge(Base):
    """Two contacts or two customers made one; `moved` lists what moved, so that it can move back."""

    __tablename__ = "archive_merges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "contact" or "customer"
    source_id: Mapped[int] = mapped_column(BigInteger)
    target_id: Mapped[int] = mapped_column(BigInteger)
    # {"identities": [[id, old contact]], "contacts": [[id, old customer]],
    #  "cases": [[id, old contact, old customer]]}
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[str | None] = mapped_column(String(120))


class DocumentText(Base):
    """What could be read from an attachment (a fax, a scanned letter), after the case was stored."""

    __tablename__ = "document_texts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))  # read, empty, no_tool, failed
    method: Mapped[str] = mapped_column(String(40), default="")  # pdftotext, tesseract, ...
    text: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="")  # why nothing was read
    pages: Mapped[int | None]  # pages of the document, every one read (None: not known)
    created_at: Mapped[datetime]
