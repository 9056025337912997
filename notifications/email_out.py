"""Compose outgoing mail: one value type in, RFC 5322 bytes with CRLF line endings out.

Why the policy looks the way it does:

* Threading headers (``Message-ID``, ``In-Reply-To``, ``References``) are written on one line
  of up to 998 octets (RFC 5322 §2.1.1). Python's default policy folds them at 78 and, when a
  single id does not fit, turns it into an RFC 2047 encoded word; Outlook then no longer
  threads the reply (intake-rules.md, "Chinese text").
* Everything else folds at 76 columns. Applying ``max_line_length=998`` to the
  whole message would also produce base64/quoted-printable body lines of ~996 characters
  (RFC 2045 §6.7/§6.8 allow 76; spam filters score such lines) and 200-character encoded words
  in Chinese subjects (RFC 2047 §2 allows 75).
* ``cte_type="7bit"``: Chinese bodies go out base64 or quoted-printable (whichever is shorter)
  and non-ASCII headers as RFC 2047 encoded words, so any relay can carry the mail without
  8BITMIME.
"""

from __future__ import annotations

import binascii
import email.policy
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email import quoprimime
from email.headerregistry import BaseHeader, HeaderRegistry, MessageIDHeader, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from functools import lru_cache
from typing import cast

# RFC 5322 §2.1.1: a line is at most 998 characters, CRLF excluded.
MAX_LINE_LENGTH = 998

# dot-atom-text of RFC 5322 §3.2.3: what may stand on either side of the "@" of a msg-id
# without quoting. Signed case tokens are base64url, which fits.
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+"
_DOT_ATOM = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")


class _OneLine:
    """Mixin for header classes: fold at 998, not at 76, so ids are never split or encoded."""

    def fold(self, *, policy: EmailPolicy[EmailMessage]) -> str:
        folded: str = super().fold(  # type: ignore[misc]
            policy=policy.clone(max_line_length=MAX_LINE_LENGTH)
        )
        return folded


class _OneLineMessageIDHeader(_OneLine, MessageIDHeader):
    pass


class _OneLineIdListHeader(_OneLine, UnstructuredHeader):
    pass


class _WholeSubject:
    """A non-ASCII subject as encoded words that hold every character, its spaces too.

    The stdlib folder leaves the space before a word it encodes outside the encoded words, and
    RFC 2047 section 6.2 has readers drop whitespace between two encoded words: "反馈 — 刹车"
    arrived as "反馈— 刹车". Here the whole text is cut, on character boundaries, into UTF-8
    base64 words of at most 75 characters, one per folded line, so nothing between them counts.
    """

    def fold(self, *, policy: EmailPolicy[EmailMessage]) -> str:
        header = cast("BaseHeader", self)
        if str(header).isascii():
            folded: str = super().fold(policy=policy)  # type: ignore[misc]
            return folded
        return _encoded_words(header.name, str(header), policy.linesep)


class _SubjectHeader(_WholeSubject, UnstructuredHeader):
    pass


def _encoded_words(name: str, value: str, linesep: str) -> str:
    # Leading plain ASCII words ("Re: [FB-2026-000123]") stay readable, for naive clients and
    # our own intake; the space after them is kept by readers (it precedes an encoded word).
    plain: list[str] = []
    rest = value
    while (
        (m := _PLAIN_WORD.match(rest))
        and "=?" not in m.group(1)
        and len(" ".join([*plain, m.group(1)])) < FOLD_LENGTH // 2
    ):
        plain.append(m.group(1))
        rest = rest[m.end() :]
    head = f"{name}: " + "".join(f"{w} " for w in plain)
    room = FOLD_LENGTH - len(head)
    words: list[str] = []
    chunk = b""
    for ch in rest:
        data = ch.encode("utf-8")
        if len(_word(chunk + data)) > room and chunk:
            words.append(_word(chunk))
            chunk, room = b"", FOLD_LENGTH - 1  # a folded line starts with one space
        chunk += data
    words.append(_word(chunk))
    return head + f"{linesep} ".join(words) + linesep


_PLAIN_WORD = re.compile(r"([!-~]+) (?=\S)")  # an ASCII word and the one space after it


def _word(data: bytes) -> str:
    return "=?utf-8?b?" + binascii.b2a_base64(data, newline=False).decode("ascii") + "?="


def _header_registry() -> HeaderRegistry:
    # The registry mixes BaseHeader in itself; the stubs do not know that, hence the casts.
    registry = HeaderRegistry()
    registry.map_to_type("message-id", cast("type[BaseHeader]", _OneLineMessageIDHeader))
    registry.map_to_type("in-reply-to", cast("type[BaseHeader]", _OneLineIdListHeader))
    registry.map_to_type("references", cast("type[BaseHeader]", _OneLineIdListHeader))
    registry.map_to_type("subject", cast("type[BaseHeader]", _SubjectHeader))
    return registry


# Derived from SMTP (CRLF); see the module docstring. 76 rather than 78: a folded line starts
# with a space, so encoded words stay within RFC 2047's 75 characters, and body lines within
# the 76 of RFC 2045.
FOLD_LENGTH = 76
POLICY: EmailPolicy[EmailMessage] = email.policy.SMTP.clone(
    max_line_length=FOLD_LENGTH, cte_type="7bit", header_factory=_header_registry()
)


@dataclass(frozen=True, slots=True)
class MailAttachment:
    """A file sent with a notice (the evidence of a warranty decision)."""

    filename: str
    content_type: str  # "type/subtype"; anything else goes as application/octet-stream
    data: bytes


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    from_addr: str  # "kefu 客服 <service@kefu.example>" style or bare address
    to: tuple[str, ...]
    subject: str
    body: str  # plain text
    message_id: str  # without <>, from make_message_id
    in_reply_to: str | None = None  # without <>
    references: tuple[str, ...] = ()  # without <>, oldest first
    reply_to: str | None = None  # e.g. service+<token>@domain
    language: str = "zh"  # Content-Language
    auto_submitted: str = "auto-generated"  # RFC 3834; "" leaves the header out
    loop_id: str = ""  # value for X-Kefu-Loop, e.g. the instance id
    extra_headers: tuple[tuple[str, str], ...] = ()
    attachments: tuple[MailAttachment, ...] = ()  # makes the mail multipart/mixed


def make_message_id(token: str, domain: str) -> str:
    """Return ``kefu.<token>.<random>@domain`` (without <>).

    The token is a signed case token made elsewhere; replies that quote this id in
    ``In-Reply-To``/``References`` thread back to the case without trusting the subject.
    """
    if not _DOT_ATOM.fullmatch(token):
        raise ValueError("case token is not a valid dot-atom for a Message-ID")
    if not _DOT_ATOM.fullmatch(domain):
        raise ValueError(f"not a valid Message-ID domain: {domain!r}")
    return f"kefu.{token}.{secrets.token_hex(8)}@{domain}"


def _bracket(msg_id: str) -> str:
    """``<id>`` from an id given with or without brackets; reject what would break the header."""
    bare = msg_id.strip().removeprefix("<").removesuffix(">")
    if not bare or any(ch.isspace() or ch in "<>" for ch in bare):
        raise ValueError(f"not a message id: {msg_id!r}")
    return f"<{bare}>"


def _references_line(ids: tuple[str, ...]) -> str:
    """The References value on one line of at most 998 characters.

    A long thread is trimmed the way netnews does it (RFC 5537 §3.4.4): keep the first id
    (the thread root) and the newest ones, drop from the middle. Duplicates are dropped too.
    """
    unique = list(dict.fromkeys(_bracket(i) for i in ids))
    budget = MAX_LINE_LENGTH - len("References: ")
    if len(" ".join(unique)) <= budget:
        return " ".join(unique)
    root, rest = unique[0], unique[1:]
    kept: list[str] = []
    used = len(root)
    for msg_id in reversed(rest):
        if used + 1 + len(msg_id) > budget:
            break
        kept.append(msg_id)
        used += 1 + len(msg_id)
    return " ".join([root, *reversed(kept)])


def build_email(mail: OutgoingEmail, date: datetime) -> bytes:
    """Serialise ``mail`` to bytes ready for SMTP DATA (CRLF line endings).

    The same bytes as `build_email_stdlib`, written directly: the stdlib parses every header
    value into a token tree and folds it back (most of a notice's CPU, profiled), although the
    values we set are nearly always one plain ASCII line. Such a header is written as it is;
    any other (a Chinese subject or name, a long or odd value) goes through the stdlib's own
    folding, one header at a time, so the output cannot drift from the reference.
    """
    _check(mail, date)
    if mail.extra_headers or mail.attachments:
        # rare; keeps the registry's duplicate-header checks, and writes the MIME parts
        return build_email_stdlib(mail, date)
    out = [_cached_fold("From", mail.from_addr), _addresses("To", mail.to)]
    if mail.reply_to:
        out.append(_addresses("Reply-To", (mail.reply_to,)))
    out.append(_text("Subject", mail.subject))
    out.append(f"Date: {format_datetime(date)}\r\n".encode("ascii"))
    message_id = _bracket(mail.message_id)
    out.append(_line("Message-ID", message_id) if _MSG_ID.fullmatch(message_id) else _fold("Message-ID", message_id))
    if mail.in_reply_to:
        out.append(_text("In-Reply-To", _bracket(mail.in_reply_to), MAX_LINE_LENGTH))
    if mail.references:
        out.append(_text("References", _references_line(mail.references), MAX_LINE_LENGTH))
    if mail.auto_submitted:
        out.append(_text("Auto-Submitted", mail.auto_submitted))
    out.append(_text("X-Kefu-Loop", mail.loop_id or "kefu"))
    out.append(b"X-Auto-Response-Suppress: All\r\n")
    cte, body = _encode_body(_normalise_body(mail.body))
    out.append(
        b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: %s\r\n'
        b"MIME-Version: 1.0\r\n" % cte.encode("ascii")
    )
    out.append(_text("Content-Language", mail.language))
    out.append(b"\r\n")
    out.append(body)
    return b"".join(out)


def _check(mail: OutgoingEmail, date: datetime) -> None:
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("date must be timezone-aware")
    if not mail.to:
        raise ValueError("an outgoing email needs at least one recipient")


# What the stdlib writes back unchanged: printable ASCII words with single spaces between them
# and no encoded-word opener (the parser would decode "=?...?="); plain addr-specs; msg-ids.
_PLAIN_TEXT = re.compile(r"[!-~]+(?: [!-~]+)*")
_ADDR_SPEC = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_ATEXT}(?:\.{_ATEXT})*")
_MSG_ID = re.compile(rf"<{_ATEXT}(?:\.{_ATEXT})*@{_ATEXT}(?:\.{_ATEXT})*>")


def _line(name: str, value: str) -> bytes:
    return f"{name}: {value}\r\n".encode("ascii")


def _fold(name: str, value: str) -> bytes:
    """One header exactly as ``EmailMessage`` and its generator write it under POLICY."""
    return POLICY.fold_binary(*POLICY.header_store_parse(name, value))


_cached_fold = lru_cache(maxsize=16)(_fold)  # the From of a dispatcher never changes


def _text(name: str, value: str, limit: int = FOLD_LENGTH) -> bytes:
    if len(name) + 2 + len(value) <= limit and "=?" not in value and _PLAIN_TEXT.fullmatch(value):
        return _line(name, value)
    return _fold(name, value)


def _addresses(name: str, addresses: tuple[str, ...]) -> bytes:
    value = ", ".join(addresses)
    if len(name) + 2 + len(value) <= FOLD_LENGTH and all(_ADDR_SPEC.fullmatch(a) for a in addresses):
        return _line(name, value)
    return _fold(name, value)


_NEWLINE = re.compile(r"\r\n|\r|\n")  # the generator's line-ending rule (email.generator.NLCRE)


def _encode_body(text: str) -> tuple[str, bytes]:
    """Content-Transfer-Encoding and wire bytes of a utf-8 text part, chosen as the stdlib's
    ``set_content`` chooses them under POLICY: 7bit when every line is ASCII and short enough,
    otherwise base64 or quoted-printable, whichever its sample of the first ten lines finds
    shorter."""
    maxlen = FOLD_LENGTH
    lines = text.encode("utf-8").splitlines()
    if max((len(x) for x in lines), default=0) <= maxlen and text.isascii():
        return "7bit", b"\r\n".join(lines) + b"\r\n"
    sniff = b"\r\n".join(lines[:10]) + b"\r\n"
    sniff_qp = quoprimime.body_encode(sniff.decode("latin-1"), maxlen)
    if len(sniff_qp) > len(binascii.b2a_base64(sniff)):
        data = b"\r\n".join(lines) + b"\r\n"
        step = maxlen // 4 * 3
        encoded = b"".join(binascii.b2a_base64(data[i : i + step]) for i in range(0, len(data), step))
        return "base64", encoded.replace(b"\n", b"\r\n")
    qp = sniff_qp if len(lines) <= 10 else quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), maxlen)
    return "quoted-printable", _NEWLINE.sub("\r\n", qp).encode("ascii", "surrogateescape")


def build_email_stdlib(mail: OutgoingEmail, date: datetime) -> bytes:
    """The reference composition through ``EmailMessage``: what `build_email` must equal byte
    for byte (tests/test_email_bytes.py), and what it uses for extra headers."""
    _check(mail, date)

    msg = EmailMessage(policy=POLICY)
    msg["From"] = mail.from_addr
    msg["To"] = ", ".join(mail.to)
    if mail.reply_to:
        msg["Reply-To"] = mail.reply_to
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = _bracket(mail.message_id)
    if mail.in_reply_to:
        msg["In-Reply-To"] = _bracket(mail.in_reply_to)
    if mail.references:
        msg["References"] = _references_line(mail.references)
    if mail.auto_submitted:
        msg["Auto-Submitted"] = mail.auto_submitted
    # The header's presence marks our own mail for the intake loop rule even when no
    # instance id is configured; the value tells instances apart.
    msg["X-Kefu-Loop"] = mail.loop_id or "kefu"
    # Exchange/Outlook: do not send out-of-office or other auto-replies to this mail.
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(_normalise_body(mail.body), subtype="plain", charset="utf-8")
    # After set_content: it clears every Content-* header set before it.
    msg["Content-Language"] = mail.language
    for name, value in mail.extra_headers:
        msg[name] = value
    for att in mail.attachments:
        maintype, _, subtype = att.content_type.partition("/")
        if not (maintype.isascii() and subtype.isascii() and maintype.isalnum() and subtype) or maintype == "text":
            # text parts would need a charset we do not know; as bytes they arrive unchanged
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype, filename=att.filename)
    return msg.as_bytes()


def _normalise_body(body: str) -> str:
    # set_content turns "\n" into CRLF on the wire but leaves a lone CR alone; and a text
    # part should end with a line break.
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"
