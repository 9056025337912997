"""The field failure records of a period as an Excel workbook, streamed: openpyxl's write-only
mode writes each row as it comes and keeps none, so a million records take the memory of one
chunk. Excel holds 1,048,576 rows a sheet; past RECORDS_A_SHEET a new sheet begins."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from cases.queries.field_records import COLUMNS
from kefu.reports.workbook import safe_text

RECORDS_A_SHEET = 1_000_000
PROGRESS_EVERY = 100_000
HEADINGS: dict[str, tuple[str, str]] = {
    "failure_date": ("失效日期", "Failure date"),
    "part_number": ("零件号", "Part number"),
    "batch": ("批次", "Batch"),
    "failure_mode": ("失效模式", "Failure mode"),
    "quantity": ("数量", "Quantity"),
    "customer": ("客户", "Customer"),
    "reference": ("案件编号", "Case"),
    "source_kind": ("来源", "Source"),
    "production_date": ("生产日期", "Production date"),
    "months_in_service": ("使用月数", "Months in service"),
    "mileage_km": ("里程 (km)", "Mileage (km)"),
}


async def write_records(
    chunks: AsyncIterator[list[tuple[Any, ...]]],
    path: Path,
    language: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the rows `chunks` yields to `path`; returns how many. `progress(n)` is called every
    PROGRESS_EVERY rows."""
    book = Workbook(write_only=True)
    heading = [pair[1] if language == "en" else pair[0] for pair in (HEADINGS[c] for c in COLUMNS)]
    sheet: Any = None
    written = 0
    async for chunk in chunks:
        for row in chunk:
            if written % RECORDS_A_SHEET == 0:
                sheet = book.create_sheet(f"{written // RECORDS_A_SHEET + 1}")
                sheet.append(heading)
            sheet.append([safe_text(sheet, v) for v in row])  # dates stay dates (yyyy-mm-dd)
            written += 1
            if progress is not None and written % PROGRESS_EVERY == 0:
                progress(written)
    if sheet is None:
        book.create_sheet("1").append(heading)
    book.save(path)
    return written
