"""Parse raw RFC 5322 mail into a plain value: pure, no I/O, never raises on a damaged body.

Speed matters (intake is benchmarked), so we parse with the compat32 policy, which builds the
MIME tree without the costly header objects of policy.default, and decode the few headers we
need ourselves (charsets.py says why the stdlib decoding is not good enough for Chinese mail).
"""

from __future__ import annotations

import binascii
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from types import MappingProxyType

from intake.charsets import (
    decode_base64,
    decode_bytes,
    decode_header_value,
    decode_words,
    header_params,
    recover_8bit,
    unfold,
)
from intake.htmltext import html_to_text, sanitize_html, sniff_charset

_PARSER = BytesParser(policy=compat32)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SIMPLE_ADDRESS = re.compile(r"\s*(?:([^<>,;:@()\\]*?)\s*<([^<>\s@]+@[^<>\s@]+)>|([^<>\s,;:@()]+@[^<>\s@,;]+))\s*$")
_MSGID = re.compile(r"<([^<>\s]+)>")
_BOUNDARY_LINE = re.compile(rb"^--([^\s]{1,200}?)(?:--)?[ \t]*\r?\n(?=[A-Za-z-]+:)", re.M)
_ANY_BOUNDARY = re.compile(rb"^--[^\s]{1,200}[ \t]*\r?$", re.M)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_WINDOWS_PUNCT = re.compile(r'[<>:"|?*]')
_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|clock\$|com[0-9]|lpt[0-9])(\..*)?$")
_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "message/rfc822": ".eml",
    "image/jpeg": ".jpg",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "application/octet-stream": ".bin",
    "image/png": ".png",
    "application/pdf": ".pdf",
}
_MAX_DEPTH = 40  # deeper MIME nesting is hostile; its parts are dropped with a defect
_KEPT_HEADERS = frozenset(
    {
        "auto-submitted",
        "precedence",
        "list-id",
        "list-unsubscribe",
        "x-autoreply",
        "x-autorespond",
        "x-auto-response-suppress",
        "return-path",
        "x-kefu-loop",
        "content-type",
        "x-failed-recipients",
        # Beyond the contract: case-preserving recipients for reply-address tokens (MailAddress
        # lower-cases) and the delivery headers that keep the envelope recipient over IMAP.
        "to",
        "cc",
        "delivered-to",
        "x-original-to",
    }
)
_WANTED = _KEPT_HEADERS | {"message-id", "from", "reply-to", "subject", "date", "in-reply-to", "references"}
_ADDRESS_HEADERS = frozenset({"from", "reply-to", "to", "cc"})
_REPEATABLE = frozenset({"to", "cc", "delivered-to", "x-original-to"})
_PART_HEADERS = frozenset({"content-type", "content-transfer-encoding", "content-disposition", "content-id"})


@dataclass(frozen=True, slots=True)
class MailAddress:
    name: str  # display name, decoded (RFC 2047, raw 8-bit GBK/UTF-8 recovered)
    address: str  # lower-cased addr-spec, "" if none


@dataclass(frozen=True, slots=True)
class ParsedAttachment:
    filename: str  # decoded and made safe by safe_filename()
    content_type: str
    data: bytes
    inline: bool


@dataclass(frozen=True, slots=True)
class ParsedMail:
    message_id: str | None  # without <>, stripped
    sender: MailAddress | None  # From
    reply_to: MailAddress | None
    to: tuple[MailAddress, ...]
    cc: tuple[MailAddress, ...]
    subject: str  # decoded, unfolded, whitespace-collapsed
    date: datetime | None  # aware UTC or None
    in_reply_to: tuple[str, ...]  # message ids without <>
    references: tuple[str, ...]  # header order, oldest first (RFC 5322 section 3.6.4)
    text: str  # readable body: text/plain preferred, else text from HTML
    html: str | None  # nh3-sanitised HTML if the mail had HTML, else None
    attachments: tuple[ParsedAttachment, ...]
    headers: Mapping[str, str]  # lower-case name -> decoded value, names in _KEPT_HEADERS
    language: str  # "zh" or "en", see detect_language
    is_report: bool  # top-level multipart/report (RFC 3464 bounce / RFC 8098 MDN)
    defects: tuple[str, ...]  # human-readable notes on what was repaired


class MailParseError(Exception):
    """The input is not a mail at all (empty, or neither header fields nor a separator)."""


@dataclass(slots=True)
class _Body:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    top_type: str = ""


def detect_language(text: str) -> str:
    """ "zh" when the text is notably Chinese: at least 10 Han characters, or 5% of it."""
    if text.isascii():
        return "en"
    han = len(_HAN.findall(text))
    return "zh" if han >= 10 or (han and han * 20 >= len(text)) else "en"


def parse_mail(raw: bytes) -> ParsedMail:
    if not raw.strip():
        raise MailParseError("empty input")
    msg = _PARSER.parsebytes(raw)
    fields = _top_headers(msg)
    if not fields and not msg.keys() and b"\n\n" not in raw and b"\r\n\r\n" not in raw:
        raise MailParseError("no header fields and no header/body separator")
    body = _Body()
    _walk(msg, body, 0)
    subject = " ".join(fields.get("subject", "").split())
    plain = "\n\n".join(t for t in body.plain if t.strip())
    text = html_to_text("\n".join(body.html)).replace("\x00", "") if not plain and body.html else _tidy(plain)
    date = _date(fields.get("date"), body.defects)
    return ParsedMail(
        message_id=_first_id(fields.get("message-id", "")),
        sender=_first_address(fields.get("from")),
        reply_to=_first_address(fields.get("reply-to")),
        to=_addresses(fields.get("to")),
        cc=_addresses(fields.get("cc")),
        subject=subject,
        date=date,
        in_reply_to=_ids(fields.get("in-reply-to", "")),
        references=_ids(fields.get("references", "")),
        text=text,
        html=sanitize_html("\n".join(body.html)) if body.html else None,
        attachments=tuple(body.attachments),
        headers=MappingProxyType(
            {k: decode_words(v) if k in _ADDRESS_HEADERS else v for k, v in fields.items() if k in _KEPT_HEADERS}
        ),
        language=detect_language(subject + "\n" + text[:2000]),
        is_report=body.top_type == "multipart/report",
        defects=tuple(dict.fromkeys(body.defects)),
    )


def _top_headers(msg: Message) -> dict[str, str]:
    # raw_items(): the values as received; Message.get() would wrap 8-bit values in Header
    # objects with an "unknown-8bit" charset. Address headers stay undecoded here: they are
    # split into addresses first, so a comma inside an encoded display name cannot split them.
    fields: dict[str, str] = {}
    for name, value in msg.raw_items():
        key = name.lower()
        if key not in _WANTED:
            continue
        value = recover_8bit(unfold(value)) if key in _ADDRESS_HEADERS else decode_header_value(value)
        # No NUL, raw or encoded, in what leaves the parser: PostgreSQL cannot keep one in text
        # (a NUL in a Message-ID once failed the SMTP store of a whole group commit).
        value = value.replace("\x00", "")
        if key not in fields:
            fields[key] = value  # first occurrence wins (RFC 5322 allows one of most)
        elif key in _REPEATABLE:
            fields[key] += ", " + value
    return fields


def _walk(part: Message, body: _Body, depth: int) -> None:
    if depth > _MAX_DEPTH:
        body.defects.append("MIME nesting too deep, inner parts dropped")
        return
    hdrs: dict[str, str] = {}
    for name, value in part.raw_items():
        key = name.lower()
        if key in _PART_HEADERS and key not in hdrs:
            hdrs[key] = recover_8bit(unfold(value))
    ctype, cparams = header_params(hdrs["content-type"]) if "content-type" in hdrs else (part.get_default_type(), {})
    ctype = ctype.replace("\x00", "")  # NUL: see _top_headers
    if "/" not in ctype:
        ctype = "text/plain"  # RFC 2045 section 5.2: an invalid Content-Type means text/plain
    if depth == 0:
        body.top_type = ctype
    body.defects.extend(_defect_note(defect) for defect in part.defects)
    disposition, dparams = header_params(hdrs.get("content-disposition", ""))
    name = dparams.get("filename") or cparams.get("name", "")
    # Inline images (RFC 2392 cid: links) come as inline parts or as bare parts with an ID.
    inline = disposition == "inline" or (not disposition and "content-id" in hdrs)
    number = len(body.attachments) + 1
    payload = _payload(part)
    if isinstance(payload, list):
        if ctype.startswith("multipart/"):
            for child in payload:
                try:
                    _walk(child, body, depth + 1)
                except Exception as exc:  # one unreadable part must not cost the rest of the mail
                    body.defects.append(f"unreadable MIME part skipped ({type(exc).__name__}: {exc})")
        else:  # message/rfc822 and friends: keep the enclosed mail whole, as a file
            data = b"".join(m.as_bytes() for m in payload)
            name = name or _inner_subject(payload)
            body.attachments.append(ParsedAttachment(safe_filename(name, ctype, number), ctype, data, inline))
        return
    raw = payload.encode("utf-8", "surrogateescape")
    if ctype.startswith("multipart/"):
        _recover_multipart(raw, ctype, body, depth)
        return
    data = _decode_transfer(raw, hdrs.get("content-transfer-encoding", ""), part, body)
    if ctype in ("text/plain", "text/html") and disposition != "attachment" and not name:
        html = ctype == "text/html"
        decoded = decode_bytes(data, cparams.get("charset") or (sniff_charset(data) if html else None))
        if decoded.defect:
            body.defects.append(decoded.defect)
        (body.html if html else body.plain).append(decoded.text)
    else:
        body.attachments.append(ParsedAttachment(safe_filename(name, ctype, number), ctype, data, inline))


def _payload(part: Message) -> str | list[Message]:
    # The stored payload itself: compat32 keeps 8-bit body bytes as surrogates, and
    # get_payload() would re-decode them with errors="replace" (the GBK-under-gb2312 bug).
    payload = part._payload  # type: ignore[attr-defined]
    return payload if isinstance(payload, list) else (payload or "")


def _decode_transfer(raw: bytes, cte: str, part: Message, body: _Body) -> bytes:
    cte = cte.strip().lower()
    if cte == "base64":
        data, damaged = decode_base64(raw)
        if damaged:
            body.defects.append("damaged base64 body repaired")
        return data
    if cte == "quoted-printable":
        return binascii.a2b_qp(raw)
    if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
        decoded = part.get_payload(decode=True)
        return decoded if isinstance(decoded, bytes) else raw
    return raw  # 7bit, 8bit, binary, or unknown: the bytes as sent


def _recover_multipart(raw: bytes, ctype: str, body: _Body, depth: int) -> None:
    """A multipart whose declared boundary never appears: do not lose the body.

    Mail-merge tools and broken gateways re-wrap a body with a new boundary but keep the old
    header. If the body plainly uses another boundary (a ``--x`` line followed by a header
    field), parse it with that one; otherwise keep it as text without the boundary lines.
    """
    match = _BOUNDARY_LINE.search(raw)
    if match and raw.count(b"--" + match.group(1)) >= 2:
        boundary = match.group(1)
        head = b"Content-Type: " + ctype.encode() + b'; boundary="' + boundary + b'"\r\n\r\n'
        inner = _PARSER.parsebytes(head + raw)
        if isinstance(_payload(inner), list):
            body.defects.append(f"broken MIME boundary, recovered with {boundary.decode('ascii', 'replace')}")
            _walk(inner, body, depth + 1)
            return
    body.defects.append("broken MIME boundary, body kept as text")
    decoded = decode_bytes(_ANY_BOUNDARY.sub(b"", raw), None)
    body.plain.append(decoded.text)


def _inner_subject(messages: list[Message]) -> str:
    for name, value in messages[0].raw_items() if messages else ():
        if name.lower() == "subject":
            return decode_header_value(value)[:140] + ".eml"
    return ""


def safe_filename(name: str, content_type: str, number: int) -> str:
    """A file name safe to store and offer for download: no path, no control characters.

    Names arrive as sent (``../../etc/passwd``, ``..\\..\\boot.ini``, bidi overrides that
    turn ``exe.pdf`` around); only the last path element survives. CJK is kept.
    """
    name = _UNSAFE.sub("", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = _WINDOWS_PUNCT.sub("_", name).strip().lstrip(".").rstrip(". ")
    if not name or _RESERVED.match(name):
        ext = _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"
        return f"attachment-{number}{ext}"
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = stem[: 149 - len(ext)] + "." + ext if dot and 0 < len(ext) <= 16 else name[:150]
    return name


def _defect_note(defect: Exception) -> str:
    kind = type(defect).__name__
    if kind in ("StartBoundaryNotFoundDefect", "NoBoundaryInMultipartDefect", "MultipartInvariantViolationDefect"):
        return "broken MIME boundary: declared boundary not found"
    if kind == "CloseBoundaryNotFoundDefect":
        return "broken MIME boundary: closing boundary missing"
    return _CAMEL.sub(" ", kind.removesuffix("Defect")).lower()  # "missing header body separator"


def _tidy(text: str) -> str:
    """Normalise newlines, drop NULs and a BOM and trailing blanks; keep the layout."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").lstrip("\ufeff")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def _parse_addresses(value: str | None) -> list[MailAddress]:
    if not value:
        return []
    pairs = _simple_addresses(value)
    if pairs is None:
        pairs = getaddresses([value])
    return [
        MailAddress(" ".join(decode_words(name).replace("\x00", "").split()), address.strip().lower())
        for name, address in pairs
        if name or address
    ]


def _simple_addresses(value: str) -> list[tuple[str, str]] | None:
    # getaddresses() is a character-by-character parser and was a quarter of the time of a
    # plain mail; the usual "Name <a@b>, c@d" forms are split here, anything else goes to it.
    if '"' in value or "(" in value or "\\" in value:
        return None
    pairs = []
    for piece in value.split(","):
        match = _SIMPLE_ADDRESS.match(piece)
        if match is None:
            return None
        pairs.append((match.group(1) or "", match.group(2) or match.group(3)))
    return pairs


def _addresses(value: str | None) -> tuple[MailAddress, ...]:
    return tuple(_parse_addresses(value))


def _first_address(value: str | None) -> MailAddress | None:
    found = _parse_addresses(value)
    return found[0] if found else None


# Longer Message-IDs are cut to this where they are read, so the id stored with a message and
# the id a reply names are cut alike and still match (the columns that keep them hold 500).
MESSAGE_ID_LENGTH = 500


def _ids(value: str) -> tuple[str, ...]:
    found = _MSGID.findall(value) or [t.strip("<>") for t in value.split() if "@" in t]
    return tuple(dict.fromkeys(i[:MESSAGE_ID_LENGTH] for i in found))  # in order, without repeats


def _first_id(value: str) -> str | None:
    found = _ids(value)
    return found[0] if found else (value.strip().strip("<>").strip()[:MESSAGE_ID_LENGTH] or None)


def _date(value: str | None, defects: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append(f"unreadable Date header {value[:60]!r}")
        return None
    if parsed.tzinfo is None:  # "-0000" (RFC 5322 section 3.3): UTC, local zone unknown
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
