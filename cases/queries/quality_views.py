"""What staff see of the quality records: a case's warranty parts, service reports, agreed
steps and files, and the overdue steps of every case they may see. Plain dicts out."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.errors import NotFound
from cases.domain.states import DEADLINE_RUNS
from cases.quality.due_steps import iso, steps_of
from cases.quality.files import file_row
from cases.quality.warranty import part_row
from cases.queries.case_views import Scope
from cases.store.models import (
    Blob,
    Case,
    Contact,
    Customer,
    Department,
    DueStep,
    QualityFile,
    ServiceReport,
    WarrantyPart,
)

Row = dict[str, Any]


async def visible_case(s: AsyncSession, scope: Scope, reference: str) -> Case:
    case = (
        await s.execute(select(Case).where(Case.reference == reference.strip().upper(), scope.condition()))
    ).scalar_one_or_none()
    if case is None:
        hint = "" if scope.all_departments else " in your department"
        raise NotFound(
            f"there is no case {reference}{hint}", zh=f"{'' if scope.all_departments else '本部门'}没有案件 {reference}"
        )
    return case


async def _files(s: AsyncSession, case_id: int) -> list[QualityFile]:
    return list(
        (await s.execute(select(QualityFile).where(QualityFile.case_id == case_id).order_by(QualityFile.id))).scalars()
    )


async def warranty_parts(s: AsyncSession, scope: Scope, reference: str) -> Row:
    case = await visible_case(s, scope, reference)
    files = await _files(s, case.id)
    parts = (
        await s.execute(select(WarrantyPart).where(WarrantyPart.case_id == case.id).order_by(WarrantyPart.id))
    ).scalars()
    return {"items": [part_row(p, [f for f in files if f.warranty_part_id == p.id], case.reference) for p in parts]}


def _local(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value is not None else None


def report_row(r: ServiceReport, files: list[QualityFile], reference: str, tz: ZoneInfo) -> Row:
    return {
        "id": r.id,
        "record_number": r.record_number,
        "state": r.state,
        "engineers": r.engineers,
        "planned_start": iso(r.planned_start),
        "planned_start_local": _local(r.planned_start, tz),
        "location": r.location,
        "equipment": r.equipment,
        "task": r.task,
        "planned_by": r.planned_by,
        "work_done": r.work_done,
        "findings": r.findings,
        "parts_replaced": r.parts_replaced,
        "result": r.result,
        "minutes_spent": r.minutes_spent,
        "failure_mode": r.failure_mode,
        "reported_by": r.reported_by,
        "reported_at": iso(r.reported_at),
        "reported_at_local": _local(r.reported_at, tz),
        "reviewed_by": r.reviewed_by,
        "reviewed_at": iso(r.reviewed_at),
        "reviewed_at_local": _local(r.reviewed_at, tz),
        "review_note": r.review_note,
        "confirmation_requested_at": iso(r.confirmation_requested_at),
        "confirmed_at": iso(r.confirmed_at),
        "confirmed_at_local": _local(r.confirmed_at, tz),
        "confirmed_by": r.confirmed_by,
        "confirmed_how": r.confirmed_how,
        "confirmation_rating": r.confirmation_rating,
        "confirmation_text": r.confirmation_text,
        "recorded_by": r.recorded_by,
        "files": [file_row(f, reference) for f in files if f.service_report_id == r.id],
    }


async def service_reports(s: AsyncSession, scope: Scope, reference: str, tz: ZoneInfo) -> Row:
    case = await visible_case(s, scope, reference)
    files = await _files(s, case.id)
    reports = (
        await s.execute(select(ServiceReport).where(ServiceReport.case_id == case.id).order_by(ServiceReport.id))
    ).scalars()
    return {"items": [report_row(r, files, case.reference, tz) for r in reports]}


async def service_report_form(
    s: AsyncSession, scope: Scope, reference: str, report_id: int, tz: ZoneInfo
) -> tuple[Row, Row]:
    """(report, case) as the HTML form needs them."""
    case = await visible_case(s, scope, reference)
    report = await s.get(ServiceReport, report_id)
    if report is None or report.case_id != case.id:
        raise NotFound(
            f"the case {case.reference} has no service report #{report_id}",
            zh=f"案件 {case.reference} 没有服务报告 #{report_id}",
        )
    customer = await s.get(Customer, case.customer_id)
    contact = await s.get(Contact, case.contact_id)
    case_row = {
        "reference": case.reference,
        "subject": case.subject,
        "customer_name": customer.name if customer else "",
        "contact_name": contact.name if contact else "",
        "part_number": case.part_number or "",
    }
    return report_row(report, await _files(s, case.id), case.reference, tz), case_row


async def quality_file(s: AsyncSession, scope: Scope, reference: str, file_id: int) -> tuple[str, bytes]:
    case = await visible_case(s, scope, reference)
    row = (
        await s.execute(
            select(QualityFile.filename, Blob.data)
            .join(Blob, Blob.sha256 == QualityFile.sha256)
            .where(QualityFile.id == file_id, QualityFile.case_id == case.id)
        )
    ).first()
    if row is None:
        raise NotFound(
            f"the case {case.reference} has no quality file #{file_id}",
            zh=f"案件 {case.reference} 没有质量文件 #{file_id}",
        )
    return row[0], row[1]


async def due_steps(s: AsyncSession, scope: Scope, reference: str, now: datetime) -> Row:
    case = await visible_case(s, scope, reference)
    return {"reference": case.reference, "items": await steps_of(s, case.id, now)}


async def overdue(s: AsyncSession, scope: Scope, now: datetime, limit: int, offset: int) -> Row:
    """Agreed steps past due and not done, on cases that still owe an answer; oldest due first."""
    where = (DueStep.done_at.is_(None), DueStep.due_at <= now, Case.state.in_(DEADLINE_RUNS), scope.condition())
    base = (
        select(DueStep, Case.reference, Case.subject, Case.state, Department.code)
        .join(Case, Case.id == DueStep.case_id)
        .outerjoin(Department, Department.id == Case.department_id)
        .where(*where)
    )
    total = (
        await s.execute(select(func.count(DueStep.id)).join(Case, Case.id == DueStep.case_id).where(*where))
    ).scalar_one()
    rows = await s.execute(base.order_by(DueStep.due_at, DueStep.id).limit(limit).offset(offset))
    items = [
        {
            "reference": reference,
            "subject": subject,
            "state": state,
            "department": dept,
            "step": step.step,
            "due_at": iso(step.due_at),
            "source": step.source,
            "overdue_hours": round((now - step.due_at).total_seconds() / 3600, 1),
            "escalated_at": iso(step.overdue_at),
        }
        for step, reference, subject, state, dept in rows
    ]
    return {"items": items, "total": total}
