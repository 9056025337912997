"""Signed tokens: the case token in our Message-IDs and reply addresses, and API tokens.

A reply that keeps only our Message-ID or our reply address still finds its case, and
nobody can forge one for a case they were never sent (HMAC-SHA256 with the instance secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta

_REF = re.compile(r"^([a-z]{1,10}-\d{4}-\d{6})\.([a-z2-7]{12})$")
_BOUNCE = re.compile(r"^b(\d{1,18})\.([a-z2-7]{12})$")
_REPORT = re.compile(r"^([a-z]{1,10}-\d{4}-\d{6})\.sr(\d{1,18})\.([a-z2-7]{12})$")
# The reply address's token with its day of issue (days since 1970-01-01, UTC).
_REPLY = re.compile(r"^([a-z]{1,10}-\d{4}-\d{6})\.d(\d{1,6})\.([a-z2-7]{12})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Signer:
    def __init__(self, secret: str, reply_token_days: float = 180.0) -> None:
        if not secret:
            raise ValueError("a secret key is required")
        self._key = secret.encode()
        self.reply_token_days = reply_token_days  # KEFU_REPLY_TOKEN_DAYS

    def _sig(self, purpose: str, value: str) -> str:
        mac = hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()
        return base64.b32encode(mac).decode().lower()[:12]

    def case_token(self, reference: str) -> str:
        """`fb-2026-000123.k3j4h5k6l7m8`: safe in a local part and in a Message-ID."""
        ref = reference.lower()
        return f"{ref}.{self._sig('case', ref)}"

    def verify_case_token(self, token: str) -> str | None:
        """The case reference the token names, or None when it is not ours."""
        match = _REF.match(token.strip().lower())
        if not match:
            return None
        ref, sig = match.groups()
        if not hmac.compare_digest(sig, self._sig("case", ref)):
            return None
        return ref.upper()

    def report_token(self, reference: str, report_id: int) -> str:
        """`fb-2026-000123.sr42.k3j4h5k6l7m8`: the reply address of a service report's
        confirmation request, so that a reply that keeps only our address still answers the
        report (cases/quality/confirmation.py); it names the case too."""
        ref = reference.lower()
        return f"{ref}.sr{report_id}.{self._sig('report', f'{ref}:{report_id}')}"

    def verify_report_token(self, token: str) -> tuple[str, int] | None:
        """(case reference, report id) the token names, or None when it is not ours."""
        match = _REPORT.match(token.strip().lower())
        if not match:
            return None
        ref, report_id, sig = match.groups()
        if not hmac.compare_digest(sig, self._sig("report", f"{ref}:{report_id}")):
            return None
        return ref.upper(), int(report_id)

    def reply_token(self, reference: str, issued: datetime) -> str:
        """`fb-2026-000123.d20431.k3j4h5k6l7m8`: the reply address's token, dated. It is carried in
        our Message-IDs' neighbour headers and proves nothing about who replies (speaker order
        decides that, cases/services/speakers.py); it only threads, and for KEFU_REPLY_TOKEN_DAYS."""
        ref, day = reference.lower(), (issued - _EPOCH).days
        return f"{ref}.d{day}.{self._sig('reply', f'{ref}:{day}')}"

    def address_reference(self, token: str, now: datetime) -> str | None:
        """The case a reply-address token names, while the token is current: a dated reply
        token, a service report's token, or the undated case token of notices sent before
        reply tokens had a date (taken as issued on the last day of its case's year: never
        refused too early, and refused at most KEFU_REPLY_TOKEN_DAYS after that year)."""
        found = self.verify_report_token(token)
        if found:
            return found[0]
        limit = timedelta(days=self.reply_token_days)
        match = _REPLY.match(token.strip().lower())
        if match:
            ref, day, sig = match.groups()
            if not hmac.compare_digest(sig, self._sig("reply", f"{ref}:{day}")):
                return None
            return ref.upper() if now - (_EPOCH + timedelta(days=int(day))) <= limit else None
        ref = self.verify_case_token(token)
        if ref is None:
            return None
        year_end = datetime(int(ref.split("-")[1]) + 1, 1, 1, tzinfo=UTC)
        return ref if now - year_end <= limit else None

    def bounce_token(self, delivery_id: int) -> str:
        """`b42.k3j4h5k6l7m8`: the VERP part of the envelope sender of delivery 42, so that a
        bounce names the notice it is about even when it returns none of its headers."""
        return f"b{delivery_id}.{self._sig('bounce', str(delivery_id))}"

    def verify_bounce_token(self, token: str) -> int | None:
        """The delivery id the token names, or None when it is not ours."""
        match = _BOUNCE.match(token.strip().lower())
        if not match or not hmac.compare_digest(match.group(2), self._sig("bounce", match.group(1))):
            return None
        return int(match.group(1))

    def staff_notice_token(self, reference: str, recipient: str) -> str:
        """`fb-2026-000123.<case sig>.s<sig>`: the Message-ID token of a staff notice, signed
        for the one person it was sent to; a reply that answers it from that address may take
        a workflow step (cases/services/staff_replies.py). It starts with the case token, so
        replies still thread by it."""
        ref = reference.lower()
        return f"{self.case_token(ref)}.s{self._sig('staff', f'{ref}:{recipient.strip().lower()}')}"

    def staff_notice_for(self, message_id: str, sender: str) -> str | None:
        """The case reference when `message_id` is a staff notice we sent to `sender`."""
        parts = message_id.split("@", 1)[0].lower().split(".")
        if len(parts) < 5 or parts[0] != "kefu" or not parts[3].startswith("s"):
            return None
        ref = self.verify_case_token(f"{parts[1]}.{parts[2]}")
        if ref is None:
            return None
        expected = self._sig("staff", f"{ref.lower()}:{sender.strip().lower()}")
        return ref if hmac.compare_digest(parts[3][1:], expected) else None

    def reference_from_message_id(self, message_id: str) -> str | None:
        """Our Message-IDs look like `kefu.<case token>.<random>@domain`."""
        local = message_id.split("@", 1)[0]
        parts = local.split(".")
        if len(parts) < 4 or parts[0] != "kefu":
            return None
        return self.verify_case_token(f"{parts[1]}.{parts[2]}")


def new_api_token() -> str:
    return "kefu_" + secrets.token_urlsafe(32)


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
