"""Telegram: raw updates (stored before they are acknowledged), staff chats, conversations and
single-use deep-link tokens. A customer's chat is an Identity of kind "telegram" (the archive)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cases.domain.enums import Language
from cases.store.models.base import Base, BigId, enum_column


class UpdateStatus(StrEnum):
    PENDING = "pending"  # stored and acknowledged, not yet handled
    PROCESSED = "processed"
    FAILED = "failed"  # our fault, after a few attempts; kept with the error for a re-run


class TelegramUpdate(Base):
    """One Bot API update, keyed on its update_id: the same update twice is stored once."""

    __tablename__ = "telegram_updates"
    __table_args__ = (Index("ix_telegram_updates_status_id", "status", "update_id"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime]
    status: Mapped[UpdateStatus] = mapped_column(enum_column(UpdateStatus, 20), default=UpdateStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]


class TelegramStaffChat(Base):
    """A staff member's chat, bound with a deep link from their profile."""

    __tablename__ = "telegram_staff_chats"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    # What the bot waits for from this person next, e.g. {"no_action": "FB-…", "message_id": 12}.
    awaiting: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class TelegramConversation(Base):
    """A customer's guided conversation (new complaint, or "which case?"), kept in our database
    so that it survives a restart. At most one is open per chat (finished_at is NULL)."""

    __tablename__ = "telegram_conversations"
    __table_args__ = (Index("ix_telegram_conversations_chat_open", "chat_id", "finished_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))  # "complaint" or "pick_case"
    step: Mapped[str] = mapped_column(String(30))
    language: Mapped[Language] = mapped_column(enum_column(Language, 8), default=Language.ZH)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    case_reference: Mapped[str | None] = mapped_column(String(20))  # what the confirm created
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class TelegramLinkToken(Base):
    """A signed /start deep-link token; single use (used_at) and short-lived (expires_at)."""

    __tablename__ = "telegram_link_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    nonce: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # "contact" or "user"
    target_id: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_chat_id: Mapped[int | None] = mapped_column(BigInteger)
