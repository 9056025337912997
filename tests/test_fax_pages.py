"""Faxes of more than one page (issue 13, item 9): every page of a multi-page TIFF and of a PDF
is read, and the case shows the page count. Test faxes keep to two pages (OCR takes seconds a
page)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from intake.doctext import DocTextReader, tiff_pages

FONT = next(
    (
        f
        for f in (
            "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
        )
        if Path(f).exists()
    ),
    None,
)


def _ocr_missing() -> str | None:
    if not (shutil.which("tesseract") and shutil.which("pdftoppm")):
        return "tesseract-ocr / poppler-utils are not installed"
    if "eng" not in subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout:
        return "tesseract-ocr-eng is not installed"
    if FONT is None:
        return "no Latin TrueType font (fonts-dejavu-core) to draw the test pages"
    return None


def _pages(*lines: str) -> list[Any]:
    from PIL import Image, ImageDraw, ImageFont

    images: list[Any] = []
    for line in lines:
        img = Image.new("L", (1700, 500), 255)
        if FONT:
            ImageDraw.Draw(img).text((100, 180), line, font=ImageFont.truetype(FONT, 72), fill=0)
        images.append(img)
    return images


def _tiff(*lines: str) -> bytes:
    """A multi-page, bilevel, CCITT Group 4 TIFF: what fax gateways (HylaFAX) send."""
    first, *rest = (page.convert("1") for page in _pages(*lines))
    buf = io.BytesIO()
    first.save(buf, "TIFF", save_all=True, append_images=rest, compression="group4", dpi=(204, 196))
    return buf.getvalue()


def _pdf(*lines: str) -> bytes:
    first, *rest = _pages(*lines)
    buf = io.BytesIO()
    first.save(buf, "PDF", resolution=200, save_all=True, append_images=rest)
    return buf.getvalue()


def test_the_pages_of_a_tiff_are_counted_from_its_directories() -> None:
    assert tiff_pages(_tiff("ONE", "TWO")) == 2
    assert tiff_pages(_tiff("ONE")) == 1
    assert tiff_pages(b"%PDF-1.4") is None
    # a directory pointing back at itself ends the count instead of hanging
    looped = bytearray(b"II*\x00\x08\x00\x00\x00" + b"\x00\x00" + b"\x08\x00\x00\x00")
    assert tiff_pages(bytes(looped)) == 1


@pytest.mark.parametrize("kind", ["tiff", "pdf"])
def test_every_page_of_a_two_page_fax_is_read_and_counted(kind: str) -> None:
    if (missing := _ocr_missing()) is not None:
        pytest.skip(f"OCR assertions skipped: {missing}")
    data = (_tiff if kind == "tiff" else _pdf)("PART 3501-00123", "BATCH B2026-1107")
    ctype = "image/tiff" if kind == "tiff" else "application/pdf"
    result = DocTextReader(languages="eng").read(data, ctype, f"fax.{kind}")
    assert result.status == "read" and result.pages == 2
    assert "3501-00123" in result.text and "B2026-1107" in result.text
