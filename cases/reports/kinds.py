"""The reports the procedure asks for, as one table: what each is called, how its record number
starts, which sections it holds in which order. Adding a report is adding a row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.errors import InvalidInput
from cases.reports import field_sections as field
from cases.reports import sections as sec
from cases.reports import work_sections as work
from cases.reports.period import Period


class ReportKind(StrEnum):
    MARKETING = "marketing"  # 营销总结报告 DFCPXS009A, at least every quarter (6.5.2)
    SERVICE = "service"  # 服务报告年度汇总 (6.6), a year's on-site service reports
    REVIEW = "review"  # 管理评审统计 (6.3.7): response, closure, satisfaction for management review


@dataclass(frozen=True, slots=True)
class ReportSpec:
    title_zh: str
    title_en: str
    record_prefix: str  # of the record number: DFCPXS009A-2026Q3-R1
    sections: tuple[tuple[str, sec.Section], ...]


REPORTS: dict[ReportKind, ReportSpec] = {
    ReportKind.MARKETING: ReportSpec(
        "营销总结报告",
        "Marketing summary report",
        "DFCPXS009A",
        (
            ("totals", sec.totals),
            ("trend", sec.trend),
            ("by_channel", sec.by_channel),
            ("by_type", sec.by_type),
            ("by_severity", sec.by_severity),
            ("by_customer", sec.by_customer),
            ("by_part", sec.by_part),
            ("failure_modes", field.failure_modes),
            ("field_rates", field.field_rates),
            ("service_life", field.service_life),
            ("early_warnings", field.early_warnings),
            ("repeats", field.repeats),
            ("satisfaction", sec.satisfaction),
            ("warranty", work.warranty),
            ("open_actions", work.open_actions),
        ),
    ),
    ReportKind.SERVICE: ReportSpec(
        "服务报告年度汇总",
        "Yearly summary of service reports",
        "DFCPZL063S",
        (
            ("service_reports", work.service_reports),
            ("failure_modes", field.failure_modes),
            ("satisfaction", sec.satisfaction),
        ),
    ),
    ReportKind.REVIEW: ReportSpec(
        "管理评审统计",
        "Management review statistics",
        "KEFU-MR",
        (
            ("totals", sec.totals),
            ("agreed_steps", work.agreed_steps),
            ("closure_times", work.closure_times),
            ("repeats", field.repeats),
            ("satisfaction", sec.satisfaction),
            ("warranty", work.warranty),
            ("open_actions", work.open_actions),
        ),
    ),
}


def kind_of(text: str) -> ReportKind:
    try:
        return ReportKind(text)
    except ValueError:
        raise InvalidInput(
            f"no report {text!r}; the reports are {', '.join(ReportKind)}",
            zh=f"没有报告 {text!r}；可用报告：{', '.join(ReportKind)}",
        ) from None


async def compute(s: AsyncSession, kind: ReportKind, period: Period, now: datetime) -> dict[str, object]:
    """The report's data: its sections in order, as plain data (JSON-ready)."""
    spec = REPORTS[kind]
    data: dict[str, object] = {
        "kind": kind.value,
        "period": period.key,
        "first_day": period.first_day.isoformat(),
        "last_day": period.last_day.isoformat(),
        "computed_at": now.isoformat(),
        "title": {"zh": spec.title_zh, "en": spec.title_en},
    }
    data["sections"] = {name: await section(s, period, now) for name, section in spec.sections}
    return data
