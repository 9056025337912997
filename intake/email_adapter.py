"""Translate a parsed mail into the channel-neutral IntakeMessage. No decisions here."""

from __future__ import annotations

from datetime import datetime

from cases.domain.enums import Channel, Language
from cases.domain.intake_message import Attachment, IntakeMessage
from intake.fax_rules import RULES, FaxRule, as_fax
from intake.forwards import find_forward, shown
from intake.mailparse import ParsedMail
from intake.mailrules import MailAction, MailVerdict
from intake.mailthread import thread_hints
from intake.quotes import new_text

MAX_ADDRESS = 254  # RFC 5321 4.5.3.1.3: a path of 256 octets, its angle brackets included


class NoSender(ValueError):
    """The mail names no sender we could answer or match."""


def reply_address(parsed: ParsedMail, envelope_from: str) -> str:
    """Where an answer goes, and who the sender is: the first usable address of Reply-To, From
    and the envelope sender. A From that is only a name ("From: Service Dept", as some gateways
    send) or longer than SMTP allows falls back to the next; none usable is NoSender."""
    candidates = [a.address for a in (parsed.reply_to, parsed.sender) if a is not None and a.address]
    if envelope_from:
        candidates.append(envelope_from.lower())
    for address in candidates:
        if "@" in address and len(address) <= MAX_ADDRESS:
            return address
    too_long = [a for a in candidates if "@" in a]
    if too_long:
        raise NoSender(
            f"the sender address is {len(too_long[0])} characters long; SMTP allows {MAX_ADDRESS}, "
            "so it could not be answered / 发件人地址过长，无法回复"
        )
    raise NoSender(
        "the mail has no usable From or Reply-To address and no envelope sender / 邮件没有可回复的发件人地址"
    )


def to_intake(
    parsed: ParsedMail,
    verdict: MailVerdict,
    *,
    inbound_id: int,
    envelope_from: str,
    envelope_to: list[str],
    received_at: datetime,
    reference_prefix: str,
    fax_rules: tuple[FaxRule, ...] = RULES,
) -> IntakeMessage:
    address = reply_address(parsed, envelope_from)
    text = parsed.text
    forwarded = find_forward(parsed)
    if forwarded is not None and forwarded.text and forwarded.text not in text:
        text = f"{text.rstrip()}\n\n{shown(forwarded)}".lstrip()  # an enclosed mail: now readable
    msg = IntakeMessage(
        channel=Channel.EMAIL,
        source_id=str(inbound_id),
        sender_identity=address,
        sender_name=(parsed.sender.name if parsed.sender else "") or address,
        subject=parsed.subject,
        text=text,
        new_text=new_text(parsed.text),
        received_at=received_at,
        language=Language.EN if parsed.language == "en" else Language.ZH,
        message_id=parsed.message_id,
        hints=thread_hints(parsed, envelope_to, reference_prefix),
        attachments=tuple(Attachment(a.filename, a.content_type, a.data) for a in parsed.attachments),
        auto_reply_allowed=verdict.action is MailAction.ACCEPT,
        is_automatic=verdict.is_automatic,
        html=parsed.html,
        new_case=verdict.new_case,
        new_case_rule=verdict.new_case_rule,
        new_case_hits=verdict.new_case_hits,
        forwarded=forwarded,
    )
    return as_fax(msg, gateway=address, rules=fax_rules)  # a fax gateway's mail becomes a fax of the caller
