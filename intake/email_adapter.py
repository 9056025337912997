"""Translate a parsed mail into the channel-neutral IntakeMessage. No decisions here."""

from __future__ import annotations

from datetime import datetime

from cases.enums import Channel, Language
from cases.intake_message import Attachment, IntakeMessage
from intake.fax_rules import RULES, FaxRule, as_fax
from intake.mailparse import ParsedMail
from intake.mailrules import MailAction, MailVerdict
from intake.quotes import new_text
from intake.mailthread import thread_hints


MAX_ADDRESS = 254  # RFC 5321 4.5.3.1.3: a path of 256 octets, its angle brackets included


class NoSender(ValueError):
    """The mail names no sender we could answer or match."""


def to_intake(parsed: ParsedMail, verdict: MailVerdict, *, inbound_id: int, envelope_from: str,
              envelope_to: list[str], received_at: datetime, reference_prefix: str,
              fax_rules: tuple[FaxRule, ...] = RULES) -> IntakeMessage:
    sender = parsed.reply_to if parsed.reply_to and parsed.reply_to.address else parsed.sender
    address = sender.address if sender and sender.address else envelope_from.lower()
    if not address or "@" not in address:
        raise NoSender("the mail has no From address and no envelope sender")
    if len(address) > MAX_ADDRESS:
        raise NoSender(f"the sender address is {len(address)} characters long; SMTP allows {MAX_ADDRESS}, "
                       "so it could not be answered / 发件人地址过长，无法回复")
    text = parsed.text
    msg = IntakeMessage(
        channel=Channel.EMAIL,
        source_id=str(inbound_id),
        sender_identity=address,
        sender_name=(parsed.sender.name if parsed.sender else "") or address,
        subject=parsed.subject,
        text=text,
        new_text=new_text(text),
        received_at=received_at,
        language=Language.EN if parsed.language == "en" else Language.ZH,
        message_id=parsed.message_id,
        hints=thread_hints(parsed, envelope_to, reference_prefix),
        attachments=tuple(Attachment(a.filename, a.content_type, a.data) for a in parsed.attachments),
        auto_reply_allowed=verdict.action is MailAction.ACCEPT,
        is_automatic=verdict.is_automatic,
        html=parsed.html,
    )
    return as_fax(msg, gateway=address, rules=fax_rules)  # a fax gateway's mail becomes a fax of the caller
