"""The dedupe key of a raw mail, computed without parsing the whole message.

Message-ID plus a hash of the content (intake rules): the same mail delivered twice, by a
sender retrying after a lost 250 or by IMAP after a crash between commit and flag, maps to
one key. Trace headers added on the way (Received, Return-Path, Delivered-To ...) are left
out of the hash so that the same mail fetched by SMTP and by IMAP is still the same.
"""

from __future__ import annotations

import hashlib
import re

_SPLIT = re.compile(rb"\r?\n\r?\n")
_HEADER = re.compile(rb"^(message-id|from|date|subject|to)[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.I | re.M)


def dedupe_key(raw: bytes) -> tuple[str | None, str]:
    """Return (Message-ID without <>, key)."""
    m = _SPLIT.search(raw)
    head, body = (raw[: m.start()], raw[m.end() :]) if m else (raw, b"")
    fields: dict[bytes, bytes] = {}
    for name, value in _HEADER.findall(head):
        fields.setdefault(name.lower(), b" ".join(value.split()))
    # No NUL: the inbox keeps the id as text, and PostgreSQL cannot store a NUL in text.
    message_id = fields.get(b"message-id", b"").replace(b"\x00", b"").strip(b"<> ").decode("ascii", "replace") or None
    digest = hashlib.sha256()
    for name in (b"message-id", b"from", b"date", b"subject", b"to"):
        digest.update(name + b":" + fields.get(name, b"") + b"\n")
    digest.update(body)
    return message_id, f"{(message_id or '')[:400]}|{digest.hexdigest()}"
