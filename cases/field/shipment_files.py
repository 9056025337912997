"""Reading a shipments file: CSV (UTF-8, with or without BOM; GB18030 as exported by a Chinese
Excel) or Excel .xlsx (openpyxl in read-only mode: rows are streamed, never the whole sheet in
memory). Yields (line number, {column: text}) for cases/field/shipments.py to check.

The first row names the columns, in English or Chinese (docs/field-data.md):
part_number 零件号, batch 批次, customer 客户, month 月份, quantity 数量.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from cases.domain.errors import InvalidInput

COLUMNS = {
    "part_number": ("part_number", "part", "part no", "零件号", "零件编号", "件号"),
    "batch": ("batch", "lot", "批次", "批次号", "批号"),
    "customer": ("customer", "customer_code", "客户", "客户代码", "客户名称"),
    "month": ("month", "ship_month", "shipped", "月份", "发货月份"),
    "quantity": ("quantity", "qty", "数量", "发货数量"),
}
REQUIRED = ("part_number", "month", "quantity")
Row = tuple[int, dict[str, str]]


def _header(cells: list[str]) -> dict[int, str]:
    known = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}
    found = {i: known[c.strip().lower()] for i, c in enumerate(cells) if c and c.strip().lower() in known}
    missing = [name for name in REQUIRED if name not in found.values()]
    if missing:
        raise InvalidInput(
            f"the first row must name the columns; missing: {', '.join(missing)} "
            f"(found: {', '.join(c for c in cells if c) or 'nothing'})",
            zh=f"第一行必须为列名；缺少：{', '.join(missing)}（实际为：{', '.join(c for c in cells if c) or '无'}）",
        )
    return found


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(path: Path) -> Iterator[Row]:
    """The data rows of a .csv or .xlsx file, with their line numbers (the header is line 1)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        yield from _xlsx(path)
    elif path.suffix.lower() in (".csv", ".txt"):
        yield from _csv(path)
    else:
        raise InvalidInput(
            f"{path.name}: a shipments file is .csv or .xlsx", zh=f"{path.name}：发货文件须为 .csv 或 .xlsx 格式"
        )


def _decoded(path: Path) -> io.TextIOBase:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return io.StringIO(raw.decode(encoding), newline="")
        except UnicodeDecodeError:
            continue
    raise InvalidInput(
        f"{path.name}: neither UTF-8 nor GB18030 text", zh=f"{path.name}：既不是 UTF-8 也不是 GB18030 编码的文本"
    )


def _csv(path: Path) -> Iterator[Row]:
    reader = csv.reader(_decoded(path))
    try:
        header = _header(next(reader))
    except StopIteration:
        raise InvalidInput(f"{path.name} is empty", zh=f"{path.name} 为空") from None
    for cells in reader:
        if any(c.strip() for c in cells):
            yield reader.line_num, {name: cells[i].strip() if i < len(cells) else "" for i, name in header.items()}


def _xlsx(path: Path) -> Iterator[Row]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise InvalidInput(
            f"{path.name}: not an Excel workbook ({exc})", zh=f"{path.name}：不是 Excel 工作簿（{exc}）"
        ) from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        try:
            header = _header([_text(c) for c in next(rows)])
        except StopIteration:
            raise InvalidInput(f"{path.name}: the first sheet is empty", zh=f"{path.name}：第一个工作表为空") from None
        for number, cells in enumerate(rows, start=2):
            texts = [_text(c) for c in cells]
            if any(texts):
                yield number, {name: texts[i] if i < len(texts) else "" for i, name in header.items()}
    finally:
        book.close()
