"""A report's data as an Excel workbook: one sheet a section, the numbers as numbers, written in
openpyxl's write-only mode (rows streamed, memory flat however long the lists)."""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from kefu.reports.labels import SECTIONS, pick, value, word
from kefu.reports.render import VOCABULARY, columns_and_values


def _title(text: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of \\ / * ? : [ ]."""
    return re.sub(r"[\\/*?:\[\]]", "-", text)[:31]


def safe_text(sheet: Any, v: Any) -> Any:
    """A text someone typed (a customer's name, a part number) stays text: "=HYPERLINK(…)" is
    never a formula in our workbook."""
    if isinstance(v, str) and v.startswith(("=", "+", "-", "@")) and len(v) > 1:
        cell = WriteOnlyCell(sheet, value=v)
        cell.data_type = "s"
        return cell
    return v


def render_xlsx(data: dict[str, Any], language: str, record_number: str = "") -> bytes:
    book = Workbook(write_only=True)
    about = book.create_sheet(word("period", language)[:31])
    about.append([data["title"]["en" if language == "en" else "zh"]])
    about.append([word("period", language), data["period"], data["first_day"], data["last_day"]])
    about.append([word("record_number", language), record_number or word("draft", language)])
    for name, section in data["sections"].items():
        sheet = book.create_sheet(_title(pick(SECTIONS.get(name), language, name)))
        for key, v in section.items():
            if isinstance(v, dict):
                v = [{"key": k, "count": n} for k, n in v.items()]
            if isinstance(v, list):
                if not v:
                    continue
                columns, values = columns_and_values(v, language)
                sheet.append([word(c, language) for c in columns])
                for row in values:
                    sheet.append(
                        [
                            safe_text(sheet, value(x, language) if c in VOCABULARY else x)
                            for c, x in zip(columns, row, strict=True)
                        ]
                    )
                sheet.append([])
            else:
                sheet.append([word(key, language), safe_text(sheet, v)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
