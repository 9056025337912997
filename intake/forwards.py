"""Forwarded mail: the forwarded message's sender, subject and text, from a ``message/rfc822``
part or an inline forward block, so that the case shows (and search finds) what was forwarded,
not only a file.

Inline blocks, as clients write them:

* Gmail: ``---------- Forwarded message ---------`` then ``From:``, ``Date:``, ``Subject:``,
  ``To:`` lines (zh-CN: ``---------- 转发的邮件 ---------`` with ``发件人：``, ``主题：``);
* Apple Mail: ``Begin forwarded message:``;
* Outlook and Exchange: ``-----Original Message-----`` (zh: ``-----原始邮件-----``, Foxmail and
  QQ Mail too) with ``From:``/``发件人:``, ``Sent:``/``发送时间:``, ``Subject:``/``主题:``.

Outlook writes the same separator above a quoted reply, and any reply may quote a forward, so
an inline block counts only when the subject says the mail is a forward (``FW:``, ``Fwd:``,
``转发:``, as every client writes it); an enclosed message/rfc822 part always counts."""

from __future__ import annotations

import re
from email.utils import parseaddr

from cases.domain.intake_message import Forwarded
from intake.mailparse import ParsedMail, parse_mail

_ALWAYS = re.compile(
    r"^[ \t]*(?:-{5,}[ \t]*(?:forwarded message|转发的邮件|转发邮件)[ \t]*-{5,}|begin forwarded message:)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_ORIGINAL = re.compile(
    r"^[ \t]*-{3,}[ \t]*(?:original message|原始邮件|原邮件)[ \t]*-{3,}[ \t]*$", re.IGNORECASE | re.MULTILINE
)
FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|转发|轉寄)\s*[:：]", re.IGNORECASE)
_FIELD = re.compile(r"^[ \t]*\*?(from|发件人|寄件者|subject|主题|主旨)\*?[ \t]*[:：][ \t]*(.*?)\s*$", re.IGNORECASE)
_ANY_FIELD = re.compile(
    r"^[ \t]*\*?(?:from|sent|date|to|cc|subject|reply-to|发件人|发送时间|日期|时间|收件人|抄送|主题|寄件者|寄件日期|收件者|主旨)"
    r"\*?[ \t]*[:：]",
    re.IGNORECASE,
)
_MAX_TEXT = 20000


def find_forward(parsed: ParsedMail) -> Forwarded | None:
    """The forwarded mail of `parsed`, the first one found (an enclosed mail first)."""
    for att in parsed.attachments:
        if att.content_type.lower() == "message/rfc822":
            try:
                inner = parse_mail(att.data)
            except Exception:  # an unreadable enclosed mail stays a file, as before
                continue
            sender = inner.sender
            return Forwarded(
                sender=sender.address if sender else "",
                sender_name=sender.name if sender else "",
                subject=inner.subject,
                text=inner.text[:_MAX_TEXT],
            )
    return inline_forward(parsed.subject, parsed.text)


def inline_forward(subject: str, text: str) -> Forwarded | None:
    text = text.replace("\r\n", "\n")
    if not FORWARD_SUBJECT.match(subject):
        return None  # a reply quoting a forward is a reply (its sender stays the one speaking)
    marker = _ALWAYS.search(text) or _ORIGINAL.search(text)
    if marker is None:
        return None
    lines = text[marker.end() :].lstrip("\n").split("\n")
    fields: dict[str, str] = {}
    body_start = len(lines)
    for i, line in enumerate(lines):
        if not line.strip():
            body_start = i + 1
            break
        if m := _FIELD.match(line):
            key = "from" if m.group(1).lower() in ("from", "发件人", "寄件者") else "subject"
            fields.setdefault(key, m.group(2))
        elif not _ANY_FIELD.match(line):
            body_start = i  # no header block after the marker: the text starts here
            break
    name, address = parseaddr(fields.get("from", ""))
    if "@" not in address:
        name, address = fields.get("from", ""), ""
    body = "\n".join(lines[body_start:]).strip()
    return Forwarded(
        sender=address.strip().lower(),
        sender_name=name.strip().strip('"'),
        subject=fields.get("subject", ""),
        text=body[:_MAX_TEXT],
    )


def shown(forwarded: Forwarded) -> str:
    """The forwarded mail as readable text (for an enclosed mail, which the body lacks)."""
    who = f"{forwarded.sender_name} <{forwarded.sender}>" if forwarded.sender_name else forwarded.sender
    return f"---------- 转发的邮件 / Forwarded message ----------\nFrom: {who}\nSubject: {forwarded.subject}\n\n{forwarded.text}"
