"""Thread hints: everything in a mail that may name an existing case, strongest first.

Only extraction happens here; the case service verifies each hint (signed Message-IDs and
address tokens, and a subject tag only from the case's own customer, see Zammad #5064).
Chinese clients (QQ Mail) reply without In-Reply-To/References, which is why the address
token and the subject tag exist at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from email.utils import getaddresses
from functools import lru_cache

from cases.domain.intake_message import ThreadHints
from intake.mailparse import ParsedMail

_PLUS_TOKEN = re.compile(r'^"?[^@\s"+]+\+([^@\s"+]+)"?@')


@lru_cache(maxsize=8)
def _tag_pattern(prefix: str) -> re.Pattern[str]:
    # Tolerates full-width brackets and hyphens (Chinese input methods), spaces inside the
    # brackets, and any letter case; compiled once per prefix, not per message.
    return re.compile(
        rf"[\[【［]\s*({re.escape(prefix)})\s*[-－]\s*(\d{{4}})\s*[-－]\s*(\d{{6}})\s*[\]】］]",
        re.IGNORECASE,
    )


def thread_hints(parsed: ParsedMail, recipients: Sequence[str], reference_prefix: str = "FB") -> ThreadHints:
    return ThreadHints(
        message_ids=message_ids(parsed),
        address_token=address_token(parsed, recipients),
        subject_reference=subject_reference(parsed.subject, reference_prefix),
    )


def message_ids(parsed: ParsedMail) -> tuple[str, ...]:
    """In-Reply-To first, then References newest first (RFC 5322 3.6.4 lists them oldest first)."""
    return tuple(dict.fromkeys((*parsed.in_reply_to, *reversed(parsed.references))))


def address_token(parsed: ParsedMail, recipients: Sequence[str]) -> str | None:
    """The ``token`` of the first ``local+token@domain`` recipient, its case kept."""
    for address in _candidate_addresses(parsed, recipients):
        match = _PLUS_TOKEN.match(address.strip().strip("<>"))
        if match:
            return match.group(1)
    return None


def _candidate_addresses(parsed: ParsedMail, recipients: Sequence[str]) -> Iterator[str]:
    # Envelope recipients are what the MTA delivered to; Delivered-To / X-Original-To keep them
    # for IMAP intake; To/Cc come last. The raw headers keep the token's letter case, which
    # MailAddress (lower-cased) has lost.
    yield from recipients
    for name in ("delivered-to", "x-original-to", "to", "cc"):
        value = parsed.headers.get(name)
        if value and "+" in value:  # no token without one; getaddresses is most of this function
            yield from (address for _, address in getaddresses([value]))
    yield from (a.address for a in (*parsed.to, *parsed.cc))


def subject_reference(subject: str, prefix: str = "FB") -> str | None:
    """The first ``[FB-2026-000123]`` tag in the subject, normalised and upper-cased."""
    match = _tag_pattern(prefix).search(subject)
    if match is None:
        return None
    return f"{match.group(1)}-{match.group(2)}-{match.group(3)}".upper()
