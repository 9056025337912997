"""Make faxes and scanned letters readable after their case is stored (never during intake).

A background worker takes attachments of incoming fax and letter messages that have no
`DocumentText` row yet, has them read outside any transaction (the reading function is
injected: intake/doctext.py runs pdftotext and Tesseract in a thread), then stores the text
(searchable by the case list's `q=`), adds it to the case as an internal note, and records on
the case when nothing could be read or OCR is not installed. The original stays as it was.
The unique attachment id in `document_texts` makes a second instance's work harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, select

from cases.domain import classify
from cases.domain.actors import SYSTEM
from cases.domain.clock import Clock
from cases.domain.enums import Channel, Direction
from cases.search import index as search_index
from cases.services.records import record_history
from cases.services.wakeup import run_rounds
from cases.store.db import Database
from cases.store.models import Attachment, Blob, Case, CaseMessage, DocumentText
from cases.store.upsert import insert_ignore

log = logging.getLogger(__name__)

READABLE_CHANNELS = (Channel.FAX.value, Channel.LETTER.value)
READABLE_SUFFIXES = (".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg")
READABLE_TYPES = ("application/pdf", "image/tiff", "image/png", "image/jpeg")
NOTE_LIMIT = 20000


@dataclass(frozen=True, slots=True)
class ReadResult:
    status: str  # "read", "empty" (nothing legible), "no_tool" (OCR not installed), "failed"
    method: str = ""  # "pdftotext", "tesseract", "pdftoppm+tesseract"
    text: str = ""
    detail: str = ""  # for a person: why nothing was read
    pages: int | None = None  # pages in the document (every one is read), when known


Read = Callable[[bytes, str, str], ReadResult]  # (data, content_type, filename), blocking

# What the case history says when nothing was read, per status: (action, zh, en).
UNREAD_NOTES: dict[str, tuple[str, str, str]] = {
    "empty": ("document_unreadable", "未能识别出文字", "no text could be read"),
    "no_tool": (
        "document_not_read",
        "未安装文字识别（OCR），未读取文字",
        "OCR is not installed; the text was not read",
    ),
    "failed": ("document_not_read", "文字识别失败", "reading the text failed"),
}


def readable(filename: str, content_type: str) -> bool:
    return content_type.lower() in READABLE_TYPES or filename.lower().endswith(READABLE_SUFFIXES)


class DocumentTexts:
    def __init__(self, db: Database, clock: Clock, read: Read, poll_seconds: float = 5.0) -> None:
        self.db = db
        self.clock = clock
        self.read = read
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await run_rounds(self.drain, self._wake, self.poll_seconds, "document reader", self.db.health)

    async def drain(self) -> None:
        while await self.run_once():
            pass

    async def run_once(self, limit: int = 20) -> int:
        """Read the documents waiting now; returns how many were handled."""
        async with self.db.reader() as s:
            rows = (
                await s.execute(
                    select(Attachment.id, Attachment.filename, Attachment.content_type, CaseMessage.case_id)
                    .join(CaseMessage, CaseMessage.id == Attachment.message_id)
                    .outerjoin(DocumentText, DocumentText.attachment_id == Attachment.id)
                    .where(
                        DocumentText.id.is_(None),
                        CaseMessage.direction == Direction.IN,
                        CaseMessage.channel.in_(READABLE_CHANNELS),
                    )
                    .order_by(Attachment.id)
                    .limit(limit)
                )
            ).all()
        for attachment_id, filename, content_type, case_id in rows:
            await self._handle(attachment_id, filename, content_type, case_id)
        return len(rows)

    async def _handle(self, attachment_id: int, filename: str, content_type: str, case_id: int) -> None:
        if not readable(filename, content_type):
            result = ReadResult("skipped", detail=f"not a document we read ({content_type})")
        else:
            async with self.db.reader() as s:
                data = (
                    await s.execute(
                        select(Blob.data)
                        .join(Attachment, and_(Attachment.sha256 == Blob.sha256))
                        .where(Attachment.id == attachment_id)
                    )
                ).scalar_one()
            try:
                result = await asyncio.to_thread(self.read, data, content_type, filename)
            except Exception as exc:  # our fault: keep the case, say so on it
                log.exception("document reader: attachment #%d failed", attachment_id)
                result = ReadResult("failed", detail=f"{type(exc).__name__}: {exc}")
        await self._store(attachment_id, filename, case_id, result)

    async def _store(self, attachment_id: int, filename: str, case_id: int, result: ReadResult) -> None:
        now = self.clock()
        async with self.db.unit_of_work() as s:
            stored = await insert_ignore(
                s,
                DocumentText,
                {
                    "attachment_id": attachment_id,
                    "case_id": case_id,
                    "status": result.status,
                    "method": result.method,
                    "text": result.text,
                    "detail": result.detail[:4000],
                    "pages": result.pages,
                    "created_at": now,
                },
                ["attachment_id"],
                returning=DocumentText.id,
            )
            if stored is None or result.status == "skipped":
                return  # another instance read it first, or nothing to say
            search_index.touch(s, case_id)  # the text read is searchable from this commit on
            case = await s.get(Case, case_id)
            if case is None:
                return
            pages = f"，共 {result.pages} 页" if result.pages else ""
            pages_en = f", {result.pages} page(s)" if result.pages else ""
            if result.status == "read":
                body = (
                    f"传真/信函文字（{result.method}{pages}） Text read from {filename} ({result.method}{pages_en}):\n\n"
                    f"{result.text[:NOTE_LIMIT]}"
                )
                s.add(
                    CaseMessage(
                        case_id=case.id,
                        direction=Direction.NOTE,
                        channel="internal",
                        sender=SYSTEM.label,
                        body=body,
                        new_text=body,
                        created_at=now,
                    )
                )
                # What the fax says fills what the gateway's mail could not (part number, batch).
                guess = classify.guess(case.subject, result.text)
                changes = {}
                for name in ("part_number", "batch", "quantity"):
                    if getattr(case, name) is None and getattr(guess, name) is not None:
                        changes[name] = [None, getattr(guess, name)]
                        setattr(case, name, getattr(guess, name))
                record_history(
                    s,
                    case=case,
                    at=now,
                    actor=SYSTEM,
                    action="document_read",
                    changes=changes,
                    note=f"{filename}: {len(result.text)} characters{pages_en} by {result.method}",
                )
                log.info(
                    "%s: read %d characters from attachment #%d by %s",
                    case.reference,
                    len(result.text),
                    attachment_id,
                    result.method,
                )
                return
            action, zh, en = UNREAD_NOTES.get(result.status, UNREAD_NOTES["failed"])
            detail = f" ({result.detail})" if result.detail else ""
            record_history(
                s, case=case, at=now, actor=SYSTEM, action=action, note=f"{filename}: {zh} / {en}{detail}"[:2000]
            )
            log.warning("%s: attachment #%d: %s%s", case.reference, attachment_id, en, detail)
