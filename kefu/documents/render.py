"""Documents a customer accepts: the 8D as HTML laid out for print, and any of our HTML
documents (the 8D, the service report form) as PDF.

The PDF is WeasyPrint's (Pango lays out the text; fonts-noto-cjk gives the Chinese glyphs).
It sits outside the domain: `cases` fills the data, this module only renders it. WeasyPrint is
imported when a PDF is asked for, so that kefu without Pango still serves everything else."""

from __future__ import annotations

import base64
import logging
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from cases.quality.eightd_steps import CAUSE_CATEGORIES, CONTAINMENT_WHERE
from cases.settings import Settings

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")
LANGUAGES = ("zh", "en")
# The HTML is served from our origin: no script, nothing fetched; images inline only.
HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "X-Content-Type-Options": "nosniff",
}
MAX_LOGO_BYTES = 2 * 1024 * 1024

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,  # every value is what a person typed
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

# The document's words, per language; the codes of the 8D's closed lists are translated too.
LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "8D 报告",
        "reference": "编号",
        "revision": "版本",
        "customer": "顾客",
        "contact": "联系人",
        "part_number": "零件号",
        "batch": "批次",
        "quantity": "数量",
        "severity": "严重度",
        "failure_mode": "失效模式",
        "subject": "问题",
        "received": "收到日期",
        "team": "评审小组",
        "leader": "组长",
        "is": "是",
        "is_not": "不是",
        "what": "什么",
        "where": "哪里",
        "when": "何时",
        "how_many": "多少",
        "action": "措施",
        "sorted": "挑选数",
        "found_bad": "不良数",
        "result": "结果",
        "date": "日期",
        "occurrence": "发生原因",
        "escape": "流出原因",
        "why": "为什么",
        "category": "原因类别",
        "root_cause": "根本原因",
        "owner": "责任人",
        "due": "完成期限",
        "addresses": "针对",
        "done_on": "完成日期",
        "evidence": "验证证据",
        "effective_from": "生效日期",
        "document": "文件",
        "doc_title": "名称",
        "doc_revision": "版次",
        "lessons": "经验教训",
        "closure": "结案",
        "recognition": "表彰",
        "signed": "签字",
        "not_signed": "未签字",
        "customer_comment": "顾客意见",
        "statement": "问题陈述",
        "notified": "已通知",
        "actions": "措施",
        "note": "备注",
        "our_plant": "本厂",
        "in_transit": "在途",
        "at_customer": "顾客处",
        "man": "人",
        "machine": "机",
        "material": "料",
        "method": "法",
        "measurement": "测",
        "environment": "环",
        "control_plan": "控制计划",
        "pfmea": "PFMEA",
        "dfmea": "DFMEA",
        "work_instruction": "作业指导书",
        "inspection_instruction": "检验指导书",
        "other": "其他",
    },
    "en": {
        "title": "8D report",
        "reference": "Reference",
        "revision": "Revision",
        "customer": "Customer",
        "contact": "Contact",
        "part_number": "Part number",
        "batch": "Batch",
        "quantity": "Quantity",
        "severity": "Severity",
        "failure_mode": "Failure mode",
        "subject": "Problem",
        "received": "Received",
        "team": "Review team",
        "leader": "leader",
        "is": "Is",
        "is_not": "Is not",
        "what": "What",
        "where": "Where",
        "when": "When",
        "how_many": "How many",
        "action": "Action",
        "sorted": "Sorted",
        "found_bad": "Found bad",
        "result": "Result",
        "date": "Date",
        "occurrence": "Occurrence",
        "escape": "Escape",
        "why": "Why",
        "category": "Cause category",
        "root_cause": "Root cause",
        "owner": "Owner",
        "due": "Due",
        "addresses": "Addresses",
        "done_on": "Done on",
        "evidence": "Evidence",
        "effective_from": "Effective from",
        "document": "Document",
        "doc_title": "Title",
        "doc_revision": "Revision",
        "lessons": "Lessons learned",
        "closure": "Closure",
        "recognition": "Recognition",
        "signed": "Signed",
        "not_signed": "Not signed",
        "customer_comment": "Customer's comment",
        "statement": "Problem statement",
        "notified": "Notified",
        "actions": "Actions",
        "note": "Note",
        **{code: code.replace("_", " ") for code in (*CONTAINMENT_WHERE, *CAUSE_CATEGORIES)},
        "control_plan": "Control plan",
        "pfmea": "PFMEA",
        "dfmea": "DFMEA",
        "work_instruction": "Work instruction",
        "inspection_instruction": "Inspection instruction",
        "other": "Other",
    },
}


@dataclass(frozen=True, slots=True)
class Header:
    """The supplier's header on every document: name, and a logo file (settings)."""

    name: str
    logo: str | None = None

    @classmethod
    def of(cls, settings: Settings) -> Header:
        """KEFU_SUPPLIER_NAME (else KEFU_MAIL_FROM_NAME) and KEFU_SUPPLIER_LOGO."""
        return cls(settings.supplier_name or settings.mail_from_name, settings.supplier_logo or None)

    def logo_uri(self) -> str | None:
        """The logo inline (data: URI), so that the HTML needs nothing else; None if unreadable."""
        if not self.logo:
            return None
        path = Path(self.logo)
        kind = mimetypes.guess_type(path.name)[0]
        try:
            if kind not in ("image/png", "image/jpeg", "image/svg+xml") or path.stat().st_size > MAX_LOGO_BYTES:
                raise ValueError(kind)
            data = path.read_bytes()
        except (OSError, ValueError):
            log.warning("KEFU_SUPPLIER_LOGO %s is not a PNG, JPEG or SVG file we can read; no logo", path)
            return None
        return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def eightd_html(data: dict[str, Any], header: Header, language: str) -> str:
    """`data` as cases/queries/eightd_views.eightd gives it."""
    if language not in LANGUAGES:
        raise ValueError(f"no 8D document in {language!r}")
    steps = {s["step"]: s for s in data["steps"]}
    return _ENV.get_template("eightd.html").render(
        d=data, steps=steps, header=header, logo=header.logo_uri(), t=LABELS[language], language=language
    )


def pdf(html: str) -> bytes:
    """HTML to PDF. Blocking and CPU-bound: call it in a thread."""
    import weasyprint

    out: bytes = weasyprint.HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    return out
