"""A report's data as the page people read (HTML with inline SVG charts), and that page as a PDF.

The layout is generic: a section's numbers are a small table of label and value, its lists of
rows are tables whose heads and vocabulary values are translated; charts come from one table of
section -> chart. The same page is what the console shows and what WeasyPrint prints."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from kefu.documents import render as documents
from kefu.documents.render import Header
from kefu.reports.labels import SECTIONS, pick, value, word

log = logging.getLogger(__name__)

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
# Columns whose values are words of a vocabulary, translated; every other value is shown as it is.
VOCABULARY = {"key", "state", "decision", "step", "severity", "how", "rating", "month", "rule"}
PERCENT = {"share", "cumulative", "satisfied_rate", "on_time_rate"}
HIDDEN = {"above_limit", "department_zh", "department_en", "name_zh", "name_en"}
# Columns given in both languages: shown as one column in the document's language.
BILINGUAL = ("department", "name")

Chart = Callable[[dict[str, Any], str, str], str]


def _labels(rows: list[dict[str, Any]], language: str) -> dict[str, str]:
    """Chart labels: a row's own name in the language (failure modes), else the vocabulary's word."""
    own = "name_en" if language == "en" else "name_zh"
    return {r["key"]: r.get(own) or value(r["key"], language) for r in rows}


def _charts() -> ModuleType:
    """matplotlib takes more than half a second to import: a report being drawn pays for it,
    not every `kefu` command that imports this module."""
    from kefu.reports import charts

    return charts


CHARTS: dict[str, Chart] = {
    "trend": lambda d, title, lang: _charts().control_chart(
        d["months"], d["centre"], d["upper_limit"], d["lower_limit"], title
    ),
    "failure_modes": lambda d, title, lang: _charts().pareto(d["rows"], title, _labels(d["rows"], lang)),
    "service_life": lambda d, title, lang: _charts().curves(d["rows"], title, word("months_in_service", lang)),
    "by_customer": lambda d, title, lang: _charts().bars(d["rows"], title),
    "by_part": lambda d, title, lang: _charts().bars(d["rows"], title),
    "by_channel": lambda d, title, lang: _charts().bars(d["rows"], title, _labels(d["rows"], lang)),
    "by_type": lambda d, title, lang: _charts().bars(d["rows"], title, _labels(d["rows"], lang)),
}


def _cell(column: str, v: Any, language: str) -> tuple[str, bool]:
    if v is None:
        return "—", False
    if column in PERCENT and isinstance(v, int | float):
        return f"{100 * v:.1f} %", True
    if column in VOCABULARY:
        return value(v, language), False
    return str(v), isinstance(v, int | float)


def columns_and_values(rows: list[dict[str, Any]], language: str) -> tuple[list[str], list[list[Any]]]:
    """The columns a table shows and each row's values, a bilingual pair as one column in the
    document's language; shared by the page and the workbook."""
    if not rows:
        return [], []
    both = [b for b in BILINGUAL if f"{b}_zh" in rows[0]]
    columns = [c for c in rows[0] if c not in HIDDEN] + both
    suffix = "_en" if language == "en" else "_zh"
    return columns, [[row.get(c + suffix if c in both else c) for c in columns] for row in rows]


def _table(rows: list[dict[str, Any]], language: str) -> dict[str, Any]:
    columns, values = columns_and_values(rows, language)
    return {
        "heads": [word(c, language) for c in columns],
        "rows": [[_cell(c, v, language) for c, v in zip(columns, row, strict=True)] for row in values],
    }


def _section(name: str, data: dict[str, Any], language: str) -> dict[str, Any]:
    title = pick(SECTIONS.get(name), language, name)
    scalars, tables = [], []
    for key, v in data.items():
        if isinstance(v, list):
            tables.append(_table(v, language))
        elif isinstance(v, dict):  # counts: {"satisfied": 3, ...}
            tables.append(_table([{"key": k, "count": n} for k, n in v.items()], language))
        else:
            scalars.append((word(key, language), _cell(key, v, language)[0]))
    chart = ""
    has_rows = bool(data.get("rows") or data.get("months"))
    if name in CHARTS and has_rows:
        try:
            chart = CHARTS[name](data, title, language)
        except Exception:  # a chart that cannot be drawn must not cost the report
            log.exception("report chart %s could not be drawn", name)
    return {"name": name, "title": title, "chart": chart, "scalars": scalars, "tables": tables}


def render_html(
    data: dict[str, Any],
    language: str,
    header: Header,
    *,
    record_number: str = "",
    revision: int | None = None,
    issued_by: str = "",
    approved_by: str = "",
    issued_at: str = "",
) -> str:
    return _env.get_template("report.html").render(
        language=language,
        title=data["title"]["en" if language == "en" else "zh"],
        period=data["period"],
        supplier=header.name,
        logo=header.logo_uri(),
        record_number=record_number,
        revision=revision,
        issued_by=issued_by,
        approved_by=approved_by,
        issued_at=issued_at,
        sections=[_section(name, d, language) for name, d in data["sections"].items()],
        w=lambda key: word(key, language),
    )


def render_pdf(html: str) -> bytes | None:
    """The page as a PDF through the one document renderer (kefu/documents/), or None where
    WeasyPrint or its Pango libraries are missing here (the page and the workbook still are)."""
    try:
        return documents.pdf(html)
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint found no Pango library
        log.warning("no PDF for this report: WeasyPrint is not usable here (%s)", exc)
        return None
