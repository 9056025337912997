"""A mail too large to download is not downloaded, but it is reported where staff look.

It becomes a quarantined inbound row (GET /api/v1/inbound?status=quarantined) holding only
the mail's header and a note, in Chinese and English, that the mail is still in the mailbox.
Staff can fetch it by hand there; re-running the row opens a case from the header and that
note, so a complaint is never silently dropped. The key (Message-ID, a hash of the header,
the size) makes a second look at the same mail, after a UIDVALIDITY change, report nothing new.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from cases.domain.clock import Clock
from cases.domain.enums import Channel
from cases.store.db import Database
from cases.store.models import InboundMessage, InboundRaw, InboundStatus
from cases.store.upsert import insert_ignore
from intake.inbox import envelope_values
from intake.mailkey import dedupe_key

log = logging.getLogger(__name__)

# The note replaces the body, so the original MIME structure must not describe it.
_MIME_HEADERS = re.compile(rb"^(content-[a-z-]+|mime-version)[ \t]*:.*(?:\r?\n[ \t].*)*\r?\n?", re.I | re.M)


@dataclass(frozen=True, slots=True)
class Oversized:
    mailbox: str  # label of the folder, without password
    uid: int
    size: int
    limit: int
    header: bytes
    envelope_from: str


def _note(item: Oversized) -> str:
    mb = f"{item.size / 1048576:.1f} MB"
    limit = f"{item.limit / 1048576:.1f} MB"
    return (
        f"邮件过大（{mb}，上限 {limit}），kefu 未下载。原邮件仍在邮箱 {item.mailbox}（UID {item.uid}），"
        f"请在邮箱中查看并手动处理。\n"
        f"This mail is too large ({mb}, limit {limit}) and was not downloaded. It is still in the "
        f"mailbox {item.mailbox} (UID {item.uid}); please read it there and handle it by hand.\n"
    )


def report_body(item: Oversized) -> bytes:
    head = _MIME_HEADERS.sub(b"", item.header.rstrip(b"\r\n") + b"\r\n").rstrip(b"\r\n")
    return (
        head + b"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\nX-Kefu-Not-Downloaded: "
        + str(item.size).encode()
        + b"\r\n\r\n"
        + _note(item).replace("\n", "\r\n").encode("utf-8")
    )


class OversizeReporter:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def report(self, item: Oversized) -> bool:
        """Store the quarantined row; False when this mail was reported before."""
        message_id, _ = dedupe_key(item.header + b"\r\n\r\n")
        digest = hashlib.sha256(item.header).hexdigest()[:32]
        key = f"oversized|{(message_id or '')[:400]}|{digest}|{item.size}"
        raw = report_body(item)
        reason = (
            f"too large to download: {item.size} bytes, limit {item.limit}; still in {item.mailbox} "
            f"UID {item.uid} / 邮件过大未下载，原件仍在邮箱中"
        )
        async with self.db.unit_of_work() as s:
            row_id = await insert_ignore(
                s,
                InboundMessage,
                dict(
                    channel=Channel.EMAIL,
                    dedupe_key=key,
                    **envelope_values(message_id, item.envelope_from),
                    envelope_to=[],
                    size=item.size,
                    received_at=self.clock(),
                    status=InboundStatus.QUARANTINED,
                    reason=reason,
                    attempts=0,
                    rule_hits=["oversized"],
                ),
                ["dedupe_key"],
                returning=InboundMessage.id,
            )
            if row_id is not None:
                s.add(InboundRaw(inbound_id=row_id, raw=raw))
        if row_id is not None:
            log.warning(
                "imap %s UID %d: %d bytes is over the limit of %d; not downloaded, reported as inbound #%d",
                item.mailbox,
                item.uid,
                item.size,
                item.limit,
                row_id,
            )
        return row_id is not None
