"""IntakeMessage: the one value every channel adapter hands to the case service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from cases.domain.enums import Channel, Language


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str  # already sanitised by the adapter
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class ThreadHints:
    """What the adapter found that may name an existing case, strongest first."""

    message_ids: tuple[str, ...] = ()  # In-Reply-To then References, without <>
    address_token: str | None = None  # the +token of service+token@domain
    subject_reference: str | None = None  # FB-2026-000123 from a [tag]
    # A case the channel itself names (a Telegram button or case choice); honoured only when
    # the sender's identity belongs to that case's own contact.
    case_reference: str | None = None
    # A service report the channel names (its Telegram confirmation button); it counts only for
    # the case's customer side, like every answer (cases/quality/confirmation.py).
    report_id: int | None = None


@dataclass(frozen=True, slots=True)
class Forwarded:
    """A mail forwarded inside this one (a message/rfc822 part, or an inline forward block):
    shown in the case; when staff forwarded it, its sender is the customer speaking."""

    sender: str  # lower-case address, "" if the block named none
    sender_name: str
    subject: str
    text: str


class NewCase(StrEnum):
    """Whether a message that threads to no case may open one (the intake rule table decides)."""

    ALLOWED = "allowed"
    KNOWN_SENDER = "known_sender"  # bulk and list mail: only from a known contact
    THREAD_ONLY = "thread_only"  # auto-replies: only joins the case it is about


@dataclass(frozen=True, slots=True)
class IntakeMessage:
    channel: Channel
    source_id: str  # unique within the channel: inbound row id, update id, form token
    sender_identity: str  # normalised: lower-case email, E.164 number, chat id
    sender_name: str
    subject: str
    text: str  # full readable text
    new_text: str  # the part above any quotation (what the sender wrote now)
    received_at: datetime  # aware UTC
    language: Language
    message_id: str | None = None  # RFC 5322 Message-ID, without <>
    hints: ThreadHints = field(default_factory=ThreadHints)
    attachments: tuple[Attachment, ...] = ()
    auto_reply_allowed: bool = True  # False for auto-submitted, bulk, list, bounce mail
    is_automatic: bool = False  # out-of-office and other machine answers: never a rating
    html: str | None = None  # sanitised HTML, stored, never served inline
    contact_id: int | None = None  # staff-logged entries: the contact staff chose (else by identity)
    rule_hits: tuple[str, ...] = ()  # adapter rules that fired (e.g. the fax gateway rule)
    # Held (quarantined) instead of opening a case, unless it threads or its sender is known;
    # `new_case_rule` names the rule that decided, for the quarantine's reason.
    new_case: NewCase = NewCase.ALLOWED
    new_case_rule: str = ""
    # Every rule that fired and restricts a new case, in table order: the admin may change each
    # one's policy (the `intake_holds` rule table, cases/rules/intake_holds.py).
    new_case_hits: tuple[str, ...] = ()
    forwarded: Forwarded | None = None
