"""Read delivery status notifications: RFC 3464 reports and plain-text mailer-daemon mail.

Written here rather than taken from flufl.bounce (GNU Mailman's detectors): that library
answers only *which addresses* failed, while kefu needs, per report, the action and the
RFC 3463 status code of each recipient and the Message-ID of the returned mail (to find the
notice it is about); it is also not in our package index. What is read:

* RFC 3464 ``multipart/report; report-type=delivery-status`` (Postfix, modern Exim, Gmail,
  Exchange and Outlook.com NDRs, Sendmail) and RFC 6533 ``message/global-delivery-status``:
  the per-recipient fields, and the returned ``message/rfc822`` or ``text/rfc822-headers``.
* Plain text (qmail's "Hi. This is the qmail-send program", Exim 3/4's "This message was
  created automatically by mail delivery software", other backscatter): the addresses before
  the copy of the message, the first status code (``#5.1.1``, ``550 5.1.1``, a bare ``550``),
  "delayed" when the text says the server will keep trying, and the copy's Message-ID.
"""

from __future__ import annotations

import email
import email.message
import re
from email.message import Message
from email.policy import compat32

from cases.domain.delivery_report import DeliveryReport, ReportedRecipient

_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_CODE = re.compile(r"(?<![\d.])([45])\d\d(?=[\s-])")
_MESSAGE_ID = re.compile(r"^message-id:[ \t]*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)
_ADDRESS = re.compile(r"<?([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)>?")
# Where a plain-text bounce starts to quote the returned mail: addresses after it are not the
# failed ones (our own From would be among them).
_COPY = re.compile(
    r"^-+ ?(?:Below this line is a copy of the message|This is a copy of the message|Original message"
    r"|The header of the original message|Undelivered message|Returned mail|original message follows)"
    r"|^-{2,} ?(?:Original|Returned) message|^Original-Recipient|^Received: ",
    re.IGNORECASE | re.MULTILINE,
)
_DELAY = re.compile(
    r"has not yet been delivered|not been delivered yet|will (?:continue|keep) trying|delivery (?:has been |is )?delayed"
    r"|still trying|temporar(?:y|ily) (?:failure|error|problem)|will retry|warning: message .* delayed",
    re.IGNORECASE,
)
_REPORT_TYPES = ("message/delivery-status", "message/global-delivery-status")
_RETURNED_TYPES = ("message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers")


def read_report(raw: bytes, return_tokens: tuple[str, ...] = ()) -> DeliveryReport | None:
    """The report in a bounce, or None when it names neither a recipient nor our mail."""
    msg = email.message_from_bytes(raw, policy=compat32)
    status_parts = [p for p in msg.walk() if p.get_content_type() in _REPORT_TYPES]
    ids = _returned_ids(msg)
    if status_parts:
        recipients = tuple(r for part in status_parts for r in _recipients_of(part))
        kind = "rfc3464"
    else:
        recipients, kind = _plain_recipients(msg), "plain"
        if not ids:
            ids = tuple(dict.fromkeys(_MESSAGE_ID.findall(_text_of(msg))))
    if not recipients and not ids and not return_tokens:
        return None
    return DeliveryReport(recipients, ids, return_tokens, kind)


def _recipients_of(part: Message) -> list[ReportedRecipient]:
    blocks = _status_blocks(part)
    found = []
    for block in blocks[1:]:  # the first block is about the message, the others one recipient each
        address = _typed_address(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        action = str(block.get("Action", "")).strip().lower()
        diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split()).partition(";")[2].strip()
        status = _status(str(block.get("Status", ""))) or _status(diagnostic) or _guess(action, diagnostic)
        if address or action:
            found.append(ReportedRecipient(address, action or "failed", status, diagnostic[:500]))
    return found


def _status_blocks(part: Message) -> list[Message]:
    """The field groups of a delivery-status part. The stdlib parses message/delivery-status
    into a list of blocks; message/global-delivery-status (UTF-8, RFC 6533) stays text."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [b for b in payload if isinstance(b, Message)]
    data = part.get_payload(decode=True)
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(payload)
    return [email.message_from_string(b.strip() + "\n", policy=compat32) for b in re.split(r"\r?\n\s*\r?\n", text)]


def _typed_address(value: str) -> str:
    # "rfc822; user@example.cn" (RFC 3464 section 2.3.2); some MTAs write the <> too.
    found = _ADDRESS.search(value.partition(";")[2] or value)
    return found.group(1).lower() if found else ""


def _status(text: str) -> str:
    found = _STATUS.search(text)
    return ".".join(found.groups()) if found else ""


def _guess(action: str, text: str) -> str:
    """A status from a bare SMTP reply code, or from the action alone."""
    code = _SMTP_CODE.search(text + " ")
    if code:
        return f"{code.group(1)}.0.0"
    return "4.0.0" if action == "delayed" else "5.0.0" if action == "failed" else "2.0.0"


def _returned_ids(msg: Message) -> tuple[str, ...]:
    ids: list[str] = []
    for part in msg.walk():
        kind = part.get_content_type()
        if kind not in _RETURNED_TYPES:
            continue
        if kind.startswith("message/") and part.is_multipart():
            inner = part.get_payload()
            headers = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(headers, Message) and headers.get("Message-ID"):
                ids.extend(re.findall(r"<([^<>\s]+)>", str(headers["Message-ID"])))
                continue
        data = part.get_payload(decode=True)
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(part.get_payload())
        ids.extend(_MESSAGE_ID.findall(_unfold(text)))
    return tuple(dict.fromkeys(ids))


def _unfold(text: str) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", text)


def _text_of(msg: Message) -> str:
    """Every text/plain part (and a non-MIME body), decoded as well as it goes."""
    texts = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_type() not in ("text/plain", "text/rfc822-headers"):
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            texts.append(data.decode(part.get_content_charset() or "utf-8", "replace"))
    return _unfold("\n".join(texts).replace("\r\n", "\n"))


def _plain_recipients(msg: Message) -> tuple[ReportedRecipient, ...]:
    text = _text_of(msg)
    copy = _COPY.search(text)
    head = text[: copy.start()] if copy else text
    action = "delayed" if _DELAY.search(head) else "failed"
    status = _status(head) or _guess(action, head)
    failed = [a.strip() for a in str(msg.get("X-Failed-Recipients", "")).split(",") if "@" in a]
    addresses = [a.lower() for a in failed] or [a.lower() for a in _ADDRESS.findall(head)]
    daemons = ("mailer-daemon@", "postmaster@")
    addresses = [a for a in dict.fromkeys(addresses) if not a.startswith(daemons)]
    diagnostic = _diagnostic(head, status)
    if not addresses:
        return (ReportedRecipient("", action, status, diagnostic),) if _STATUS.search(head) else ()
    return tuple(ReportedRecipient(a, action, status, diagnostic) for a in addresses)


def _diagnostic(head: str, status: str) -> str:
    for line in head.splitlines():
        if (status and status in line) or _SMTP_CODE.search(line + " "):
            return " ".join(line.split())[:500]
    return ""
