"""Every notice template, rendered with one sample case, for staff to read before a customer
does (the console's /templates page).

The sample goes through the dispatcher's own pieces: `notice_context` / `staff_notice_context`
build the variables from (unsaved) rows, and `Renderer.render` renders them, so a preview
shows exactly what the dispatcher would send. A template that fails to render is reported with
its error, never raised: one broken file must not hide the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cases.domain.enums import CaseState, CaseType, Channel, Severity
from cases.domain.events import EventKind
from cases.store.models import Case, Contact, Customer, Department, OutboxEvent
from notifications.context import notice_context, staff_notice_context
from notifications.render import Renderer

LANGUAGES = ("zh", "en")
# Event templates only; "_base" and "_notice" frame them and are previewed through them.
_FILE = re.compile(r"(?P<event>[a-z][a-z0-9_]*)(?:\.(?P<channel>[a-z]+))?\.(?P<language>[a-z]{2})\.txt")
# Events about no case (cases/domain/events.py): framed by `_notice`, without the case's facts.
ABOUT_NO_CASE = frozenset({EventKind.REPORT_DUE.value})
SAMPLE_TZ = ZoneInfo("Asia/Shanghai")
SAMPLE_CONSOLE = "https://kefu.example.com"

# What a quality or field event's notice says (payload "details"): the union of the fields
# the templates read, with values like those the services write; per event where they differ.
_DETAILS: dict[str, Any] = {
    "part_number": "3401-00123",
    "batch": "B20260312",
    "quantity": 12,
    "claim_number": "SQ-2026-0457",
    "vin": "LGBH52E05LY123456",
    "failure_mode": "NOISE",
    "failure_description": "转向时球头异响 / knocking noise when steering",
    "decision": "not_ours",
    "test_results": "台架试验 20 万次无异常 / 200,000 bench cycles without fault",
    "record_number": "FW-2026-0031",
    "engineers": "张工、李工 / Zhang, Li",
    "planned_start_local": "2026-03-18 09:00",
    "location": "东风十堰总装厂 / Dongfeng Shiyan assembly plant",
    "task": "现场排查异响 / trace the noise on site",
    "work_done": "更换 12 件球头 / replaced 12 ball joints",
    "findings": "润滑脂不足 / too little grease",
    "result": "问题已解决 / solved",
    "rating": "satisfied",
    "how": "reply",
    "confirmed_by": "王伟 / Wang Wei",
    "step": "root_cause",
    "due_local": "2026-03-20 17:00",
    "revision": 2,
    "comment": "根本原因分析不充分 / the root cause analysis is too thin",
    "team": "质量部 王工; 技术开发部 陈工",
    "leader": "王工",
    "earlier": "FB-2026-000098",
    "alert_id": 7,
    "customer": "东风汽车有限公司",
    "observed": 9,
    "expected": 2.4,
    "upper_limit": 7.1,
    "window_start": "2026-02-01",
    "window_end": "2026-02-28",
    "rule": "u_chart",
    "p_value": 0.003,
    "cases": 4,
}
_DETAILS_OF: dict[str, dict[str, Any]] = {
    "eightd_returned": {"step": "D4"},
    EventKind.REPORT_DUE.value: {
        "kind": "marketing_summary",
        "period": "2026-Q1",
        "title_zh": "市场信息汇总报告",
        "title_en": "marketing summary report",
        "record_prefix": "SC",
        "first_day": "2026-01-01",
        "last_day": "2026-03-31",
        "due_on": "2026-04-10",
        "command": "kefu report marketing --period 2026-Q1",
        "console_page": "/reports",
    },
}


@dataclass(frozen=True, slots=True)
class TemplateFile:
    audience: str  # "customer" or "staff"
    event: str
    channel: str | None  # None: channel-neutral (email, and any channel without its own file)
    language: str
    path: str  # relative to the template folder, e.g. "customer/reply.telegram.en.txt"


@dataclass(frozen=True, slots=True)
class Preview:
    file: TemplateFile
    subject: str
    body: str
    error: str | None  # the exception, when the template did not render


def template_files(template_dir: Path) -> list[TemplateFile]:
    """Every event template on disk (not the frames), sorted by audience, event, channel, language."""
    found = []
    for path in sorted(template_dir.glob("*/*.txt")):
        match = _FILE.fullmatch(path.name)
        if match is None or path.name.startswith("_"):
            continue
        found.append(
            TemplateFile(
                path.parent.name,
                match["event"],
                match["channel"],
                match["language"],
                path.relative_to(template_dir).as_posix(),
            )
        )
    return sorted(found, key=lambda f: (f.audience, f.event, f.channel or "", f.language))


def sample_context(event: str, language: str) -> dict[str, Any]:
    """The variables of one notice about a sample case, built the way the dispatcher builds them."""
    details = {**_DETAILS, **_DETAILS_OF.get(event, {})}
    payload = {
        "reason": "经核查，该批次零件检验合格，异响由安装不当引起。",
        "note": "纠正措施未在复检中验证有效。",
        "message": "经分析，异响由球头润滑不足引起，我们已对同批次零件进行排查。",
        "third_party": "",
        "rating": "unsatisfied",
        "address": "w***@dfmc.example.cn",
        "status": "5.1.1",
        "diagnostic": "550 5.1.1 user unknown",
        "details": details,
    }
    notice = OutboxEvent(kind=event, payload=payload)
    if event in ABOUT_NO_CASE:
        return staff_notice_context(notice, SAMPLE_CONSOLE)
    case = Case(
        reference="FB-2026-000123",
        subject="转向拉杆球头异响",
        type=CaseType.QUALITY_COMPLAINT,
        channel=Channel.EMAIL,
        state=CaseState.ASSIGNED,
        severity=Severity.HIGH,
        part_number="3401-00123",
        batch="B20260312",
        received_at=datetime(2026, 3, 15, 1, 30, tzinfo=UTC),
        customer_deadline=datetime(2026, 3, 22, 9, 0, tzinfo=UTC),
        no_action_reason=None,
        rating=None,
    )
    customer = Customer(name="东风汽车有限公司")
    contact = Contact(name="王伟")
    department = Department(code="quality", name_zh="质量部", name_en="Quality")
    return notice_context(case, notice, contact, customer, department, language, SAMPLE_TZ, SAMPLE_CONSOLE)


def preview(renderer: Renderer, file: TemplateFile) -> Preview:
    """One template file rendered with the sample, in its own language and channel."""
    try:
        context = sample_context(file.event, file.language)
        rendered = renderer.render(
            file.audience,
            file.event,
            file.channel or Channel.EMAIL.value,
            file.language,
            context,
            frame="_notice" if file.event in ABOUT_NO_CASE else "_base",
        )
    except Exception as exc:  # any fault of a template is shown on its row, not raised
        return Preview(file, "", "", f"{type(exc).__name__}: {exc}")
    return Preview(file, rendered.subject, rendered.body, None)


def preview_all(renderer: Renderer) -> list[Preview]:
    return [preview(renderer, f) for f in template_files(renderer.template_dir)]
