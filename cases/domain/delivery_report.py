"""A delivery status notification (a bounce) as the intake read it, whatever the MTA wrote."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReportedRecipient:
    address: str  # the recipient the report is about, lower-case ("" when the report names none)
    action: str  # RFC 3464 section 2.3.3: failed, delayed, delivered, relayed, expanded
    status: str  # RFC 3463 enhanced status code, "5.1.1"
    diagnostic: str = ""  # the remote server's words, cut to 500 characters

    @property
    def permanent(self) -> bool:
        """A permanent failure: the address cannot be reached (a 4.x.x "failed" is not)."""
        return self.action == "failed" and self.status.startswith("5")


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    recipients: tuple[ReportedRecipient, ...]
    original_message_ids: tuple[str, ...]  # Message-ID(s) of the returned mail, without <>
    return_tokens: tuple[str, ...]  # the +token of the VERP address the report was sent to
    kind: str  # "rfc3464" (multipart/report) or "plain" (qmail, old Exim, other backscatter)
