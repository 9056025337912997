"""Reading faxes after intake: the tools (pdftotext, Tesseract) on real files, and the worker's
bookkeeping on the real database (text stored once, a note, history when nothing was read)."""

from __future__ import annotations

import shutil
import uuid

import pytest
from sqlalchemy import select

from cases.domain.enums import Channel, Language
from cases.domain.intake_message import Attachment, IntakeMessage
from cases.services.documents import DocumentTexts, ReadResult
from cases.store.models import CaseHistory, CaseMessage, DocumentText
from intake.doctext import DocTextReader, tidy
from kefu.bootstrap import Kefu


def text_pdf(line: str) -> bytes:
    """A one-page PDF whose text is real text (what a computer fax or a scan-to-PDF with OCR sends)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({line}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")
def test_a_text_pdf_is_read_by_pdftotext_without_ocr() -> None:
    result = DocTextReader().read(
        text_pdf("Quality complaint: part 3501-00123, batch B2026-1107"), "application/pdf", "fax.pdf"
    )
    assert (result.status, result.method) == ("read", "pdftotext")
    assert "3501-00123" in result.text and "B2026-1107" in result.text


def test_read_text_keeps_no_nul_form_feed_or_gap_between_chinese_characters() -> None:
    # A PDF may map a glyph to U+0000, and PostgreSQL cannot store a NUL in text.
    assert tidy("刹 车 片\x00异响\f\n\n\n\npart 3501\x00-00123  ") == "刹车片异响\n\npart 3501-00123"


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) is not installed")
def test_without_the_ocr_languages_a_scan_is_reported_not_read() -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (400, 300), 255).save(buf, "PDF")
    result = DocTextReader(languages="xx_nonexistent").read(buf.getvalue(), "application/pdf", "scan.pdf")
    assert result.status == "no_tool" and "tesseract" in result.detail


def test_a_file_that_is_not_an_image_fails_with_a_reason() -> None:
    if shutil.which("tesseract") is None:
        pytest.skip("tesseract-ocr is not installed")
    result = DocTextReader().read(b"this is not an image", "image/tiff", "fax.tif")
    assert result.status == "failed" and "tesseract" in result.detail


async def _fax_case(kefu: Kefu, *attachments: Attachment) -> str:
    msg = IntakeMessage(
        channel=Channel.FAX,
        source_id=uuid.uuid4().hex,
        sender_identity="+862784561234",
        sender_name="传真 Fax",
        subject="Fax from +86 27 8456 1234",
        text="1 page",
        new_text="1 page",
        received_at=kefu.clock(),
        language=Language.ZH,
        attachments=attachments,
    )
    async with kefu.db.unit_of_work() as s:
        return (await kefu.service.receive(s, msg)).reference


async def test_the_worker_stores_text_once_and_says_on_the_case_what_it_could_not_read(kefu) -> None:  # type: ignore[no-untyped-def]
    answers = {
        "a.pdf": ReadResult("read", "pdftotext", "零件号：3501-00123 刹车片异响"),
        "b.tif": ReadResult("empty", "tesseract", detail="1 page(s), nothing legible"),
    }
    calls: list[str] = []

    def read(data: bytes, ctype: str, filename: str) -> ReadResult:
        calls.append(filename)
        if filename == "c.pdf":
            raise RuntimeError("poppler crashed")
        return answers[filename]

    ref = await _fax_case(
        kefu,
        Attachment("a.pdf", "application/pdf", b"%PDF-a"),
        Attachment("b.tif", "image/tiff", b"II*b"),
        Attachment("c.pdf", "application/pdf", b"%PDF-c"),
        Attachment("d.txt", "text/plain", b"cover sheet"),
    )
    worker = DocumentTexts(kefu.db, kefu.clock, read)
    assert await worker.run_once() == 4
    assert await worker.run_once() == 0  # nothing twice
    assert calls == ["a.pdf", "b.tif", "c.pdf"]  # d.txt is not a document we read
    async with kefu.db.reader() as s:
        texts = {t.status: t for t in (await s.execute(select(DocumentText))).scalars()}
        history = list(
            (
                await s.execute(
                    select(CaseHistory.action, CaseHistory.note, CaseHistory.changes).order_by(CaseHistory.id)
                )
            ).all()
        )
        notes = list((await s.execute(select(CaseMessage.body).where(CaseMessage.direction == "note"))).scalars())
    assert set(texts) == {"read", "empty", "failed", "skipped"} and "poppler crashed" in texts["failed"].detail
    actions = [h[0] for h in history]
    assert actions == ["opened", "document_read", "document_unreadable", "document_not_read"]
    assert history[1][2]["part_number"] == [None, "3501-00123"]
    assert "未能识别出文字" in history[2][1] and "no text could be read" in history[2][1]
    assert len(notes) == 1 and "刹车片异响" in notes[0]
    assert ref
