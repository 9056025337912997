"""Issuing a report: the data as computed and the documents as rendered, frozen as a record with
its record number, who issued and who approved it, and when. A second issue of the same period
is the next revision; the first stays as it was (the table's triggers refuse changes)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.enums import Role
from cases.domain.errors import Forbidden, InvalidInput, NotFound
from cases.reports.kinds import REPORTS, ReportKind
from cases.reports.period import Period
from cases.store.models import IssuedReport

log = logging.getLogger(__name__)

ISSUERS = frozenset({Role.SALES, Role.QUALITY, Role.APPROVER, Role.ADMIN})
FORMATS = {
    "html": ("text/html; charset=utf-8", "html"),
    "pdf": ("application/pdf", "pdf"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}


@dataclass(frozen=True, slots=True)
class Documents:
    html: str
    xlsx: bytes
    pdf: bytes | None


async def next_record_number(s: AsyncSession, kind: ReportKind, period: Period) -> tuple[int, str]:
    last = await s.scalar(
        select(func.max(IssuedReport.revision)).where(
            IssuedReport.kind == kind.value, IssuedReport.period == period.key
        )
    )
    revision = int(last or 0) + 1
    return revision, f"{REPORTS[kind].record_prefix}-{period.key}-R{revision}"


def check_issuer(actor: Actor) -> None:
    if not (actor.roles & ISSUERS):
        raise Forbidden(
            "only Sales, Quality, the approvers or an admin issue reports",
            zh="只有销售、质量、审批人或管理员可以签发报告",
        )


async def issue(
    s: AsyncSession,
    actor: Actor,
    kind: ReportKind,
    period: Period,
    revision: int,
    record_number: str,
    data: dict[str, Any],
    documents: Documents,
    approved_by: str,
    language: str,
    now: datetime,
) -> IssuedReport:
    """Store the revision the caller numbered with `next_record_number` (in this transaction:
    two issues at once meet the unique revision, and the second fails rather than overwrite)."""
    check_issuer(actor)
    if not approved_by.strip():
        raise InvalidInput("an issued report names who approved it", zh="签发的报告须注明批准人")
    row = IssuedReport(
        kind=kind.value,
        period=period.key,
        revision=revision,
        record_number=record_number,
        language=language,
        data=data,
        html=documents.html,
        pdf=documents.pdf,
        xlsx=documents.xlsx,
        issued_by=actor.label,
        approved_by=approved_by.strip()[:120],
        issued_at=now,
    )
    s.add(row)
    await s.flush()
    log.info("report %s issued by %s, approved by %s", record_number, actor.label, approved_by)
    return row


def summary(row: IssuedReport) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "period": row.period,
        "revision": row.revision,
        "record_number": row.record_number,
        "language": row.language,
        "issued_by": row.issued_by,
        "approved_by": row.approved_by,
        "issued_at": row.issued_at.isoformat(),
        "formats": [f for f in FORMATS if f != "pdf" or row.pdf is not None],
    }


async def issued(s: AsyncSession, kind: ReportKind | None = None, period: str | None = None) -> list[dict[str, Any]]:
    query = select(IssuedReport).order_by(IssuedReport.issued_at.desc(), IssuedReport.id.desc()).limit(500)
    if kind is not None:
        query = query.where(IssuedReport.kind == kind.value)
    if period is not None:
        query = query.where(IssuedReport.period == period)
    return [summary(r) for r in (await s.execute(query)).scalars()]


async def issued_file(s: AsyncSession, record_number: str, fmt: str) -> tuple[bytes, str, str]:
    """(bytes, content type, file name) of an issued report in one of its formats."""
    if fmt not in FORMATS:
        raise InvalidInput(
            f"no format {fmt!r}; the formats are {', '.join(FORMATS)}",
            zh=f"没有格式 {fmt!r}；可用格式：{', '.join(FORMATS)}",
        )
    row = (
        await s.execute(select(IssuedReport).where(IssuedReport.record_number == record_number))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no issued report {record_number}", zh=f"没有已签发的报告 {record_number}")
    content = {"html": row.html.encode(), "pdf": row.pdf, "xlsx": row.xlsx}[fmt]
    if content is None:
        raise NotFound(
            f"{record_number} was issued without a PDF (no renderer was installed)",
            zh=f"{record_number} 签发时未生成 PDF（当时未安装渲染程序）",
        )
    content_type, ext = FORMATS[fmt]
    return content, content_type, f"{record_number}.{ext}"
