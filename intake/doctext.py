"""Read the text of a fax or scanned letter: poppler's pdftotext for text PDFs, Tesseract OCR
(Chinese simplified + English) for scans, PDF pages rendered with pdftoppm.

Blocking (subprocesses): cases/services/documents.py runs `DocTextReader.read` in a thread. Every
tool is optional; what is missing is reported ("no_tool") and the case says so.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Literal

from cases.services.documents import ReadResult

log = logging.getLogger(__name__)

MIN_TEXT_CHARS = 8  # fewer letters than this from pdftotext: a scanned PDF, try OCR
# Tesseract's Chinese output puts spaces between characters ("刹 车 片"); searching needs them gone.
_CJK_GAP = re.compile(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]) +(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])")


def tidy(text: str) -> str:
    """Pages as text to keep and search: no form feeds, no NULs (a PDF may map a glyph to U+0000;
    PostgreSQL cannot store it), no gaps between Chinese characters, no runs of blank lines."""
    lines = [_CJK_GAP.sub("", line).rstrip() for line in text.replace("\f", "\n").replace("\x00", "").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def tiff_pages(data: bytes, limit: int = 10000) -> int | None:
    """The pages (image file directories) of a TIFF (TIFF 6.0 section 2; BigTIFF too); None
    when the bytes are no TIFF. A fax gateway sends one multi-page TIFF per fax."""
    order = {b"II": "little", b"MM": "big"}.get(data[:2])
    if order is None:
        return None
    endian: Literal["little", "big"] = "little" if order == "little" else "big"
    magic = int.from_bytes(data[2:4], endian)
    big = magic == 43
    if magic not in (42, 43):
        return None
    offset = int.from_bytes(data[8:16] if big else data[4:8], endian)
    count_size, entry_size, next_size = (8, 20, 8) if big else (2, 12, 4)
    pages = 0
    seen: set[int] = set()
    while offset and offset not in seen and pages < limit and offset + count_size <= len(data):
        seen.add(offset)  # a loop of directories must not hang the reader
        entries = int.from_bytes(data[offset : offset + count_size], endian)
        pages += 1
        at = offset + count_size + entries * entry_size
        offset = int.from_bytes(data[at : at + next_size], endian) if at + next_size <= len(data) else 0
    return pages


def _letters(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


class DocTextReader:
    def __init__(
        self, languages: str = "chi_sim+eng", timeout_seconds: float = 120.0, max_pages: int = 20, dpi: int = 300
    ) -> None:
        self.languages = languages
        self.timeout = timeout_seconds
        self.max_pages = max_pages
        self.dpi = dpi

    def _run(self, *args: str) -> str:
        done = subprocess.run(args, capture_output=True, timeout=self.timeout, check=True)
        return done.stdout.decode("utf-8", "replace")

    def _ocr_languages(self) -> str | None:
        """The configured languages Tesseract has; None when it is missing or has none of them."""
        if shutil.which("tesseract") is None:
            return None
        try:
            listed = self._run("tesseract", "--list-langs").split()
        except (OSError, subprocess.SubprocessError):
            return None
        have = [lang for lang in self.languages.split("+") if lang in listed]
        return "+".join(have) or None

    def read(self, data: bytes, content_type: str, filename: str) -> ReadResult:
        is_pdf = data[:5] == b"%PDF-" or content_type.lower() == "application/pdf"
        with tempfile.TemporaryDirectory(prefix="kefu-doc-") as tmp:
            source = Path(tmp) / ("in.pdf" if is_pdf else "in.img")
            source.write_bytes(data)
            try:
                if is_pdf:
                    return self._read_pdf(source, Path(tmp))
                # Tesseract reads every page of a multi-page TIFF.
                return replace(self._ocr([source], "tesseract"), pages=tiff_pages(data) or 1)
            except subprocess.TimeoutExpired:
                return ReadResult("failed", detail=f"took longer than {self.timeout:.0f} s")
            except subprocess.CalledProcessError as exc:
                err = exc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] if exc.stderr else []
                return ReadResult("failed", detail=f"{Path(str(exc.cmd[0])).name} failed: {' '.join(err)}"[:500])

    def _pdf_pages(self, source: Path) -> int | None:
        if shutil.which("pdfinfo") is None:
            return None
        try:
            info = self._run("pdfinfo", str(source))
        except (OSError, subprocess.SubprocessError):
            return None
        found = re.search(r"^Pages:\s*(\d+)", info, re.MULTILINE)
        return int(found.group(1)) if found else None

    def _read_pdf(self, source: Path, tmp: Path) -> ReadResult:
        pages = self._pdf_pages(source)
        return replace(self._read_pdf_text(source, tmp), pages=pages)

    def _read_pdf_text(self, source: Path, tmp: Path) -> ReadResult:
        if shutil.which("pdftotext"):
            text = tidy(self._run("pdftotext", "-layout", "-q", "-l", str(self.max_pages), str(source), "-"))
            if _letters(text) >= MIN_TEXT_CHARS:
                return ReadResult("read", "pdftotext", text)
        if shutil.which("pdftoppm") is None:
            return ReadResult("no_tool", detail="poppler-utils (pdftoppm) is not installed")
        if self._ocr_languages() is None:
            return ReadResult("no_tool", detail=f"tesseract with {self.languages} is not installed")
        self._run(
            "pdftoppm", "-r", str(self.dpi), "-gray", "-png", "-l", str(self.max_pages), str(source), str(tmp / "page")
        )
        pages = sorted(tmp.glob("page*.png"))
        return self._ocr(pages, "pdftoppm+tesseract")

    def _ocr(self, images: list[Path], method: str) -> ReadResult:
        languages = self._ocr_languages()
        if languages is None:
            return ReadResult("no_tool", detail=f"tesseract with {self.languages} is not installed")
        texts = [self._run("tesseract", str(image), "stdout", "-l", languages, "--psm", "3") for image in images]
        text = tidy("\n\n".join(texts))
        if _letters(text) == 0:
            return ReadResult("empty", method, detail=f"{len(images)} page(s), nothing legible")
        return ReadResult("read", method, text)
