"""The service report (服务报告单, record DFCPZL063A) as HTML laid out like the paper form, in
Chinese or English. The PDF is the shared document renderer's work (HTML to PDF with a CJK
font); this module only fills the form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).with_name("templates")
LANGUAGES = ("zh", "en")

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,  # every value is what a person typed
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_service_report(report: dict[str, Any], case: dict[str, Any], supplier: str, language: str) -> str:
    """`report` as quality_views.service_report_row gives it; `case` with reference, subject,
    customer_name, contact_name, part_number; times already in local text."""
    if language not in LANGUAGES:
        raise ValueError(f"no service report form in {language!r}")
    return _ENV.get_template(f"service_report.{language}.html").render(report=report, case=case, supplier=supplier)
