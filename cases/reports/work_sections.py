"""The report sections about the work done on complaints: warranty parts by responsibility,
open corrective actions, agreed deadlines met, time to close, on-site service reports."""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.enums import CaseState
from cases.reports.period import Period
from cases.reports.sections import OPEN_WORK, Data
from cases.store.models import (
    Case,
    Department,
    DueStep,
    ServiceReport,
    WarrantyPart,
)


async def warranty(s: AsyncSession, p: Period, now: datetime) -> Data:
    found = await s.execute(
        select(
            WarrantyPart.decision,
            func.count(),
            func.sum(WarrantyPart.quantity_received),
            func.sum(WarrantyPart.cost_cents),
        )
        .where(WarrantyPart.created_at >= p.start, WarrantyPart.created_at < p.end)
        .group_by(WarrantyPart.decision)
    )
    rows: list[Data] = [
        {"decision": d or "undecided", "records": int(n), "quantity": int(q or 0), "cost": round((c or 0) / 100, 2)}
        for d, n, q, c in found
    ]
    return {"rows": sorted(rows, key=lambda r: r["decision"]), "cost_total": round(sum(r["cost"] for r in rows), 2)}


async def open_actions(s: AsyncSession, p: Period, now: datetime) -> Data:
    """Corrective actions still open at the period's end (or now, for a period not yet over)."""
    at = min(p.end, now)
    found = await s.execute(
        select(Case.reference, Case.state, Case.received_at, Department.name_zh, Department.name_en)
        .outerjoin(Department, Department.id == Case.department_id)
        .where(Case.state.in_(OPEN_WORK), Case.received_at < at)
        .order_by(Case.received_at)
        .limit(200)
    )
    rows = [
        {
            "reference": ref,
            "state": str(state),
            "department_zh": zh or "",
            "department_en": en or "",
            "age_days": (at - received).days,
        }
        for ref, state, received, zh, en in found
    ]
    overdue = await s.scalar(
        select(func.count())
        .select_from(DueStep)
        .join(Case, Case.id == DueStep.case_id)
        .where(DueStep.done_at.is_(None), DueStep.due_at < at, Case.state.in_(OPEN_WORK))
    )
    return {"rows": rows, "overdue_steps": int(overdue or 0)}


async def agreed_steps(s: AsyncSession, p: Period, now: datetime) -> Data:
    """Per agreed step (first answer, containment, root cause, closure) falling due in the period:
    done on time, done late, still open past due; the on-time rate of those decided."""
    at = min(p.end, now)
    found = await s.execute(
        select(
            DueStep.step,
            func.sum(case((and_(DueStep.done_at.is_not(None), DueStep.done_at <= DueStep.due_at), 1), else_=0)),
            func.sum(case((DueStep.done_at > DueStep.due_at, 1), else_=0)),
            func.sum(case((and_(DueStep.done_at.is_(None), DueStep.due_at < at), 1), else_=0)),
            func.count(),
        )
        .where(DueStep.due_at >= p.start, DueStep.due_at < p.end)
        .group_by(DueStep.step)
    )
    rows = []
    for step, on_time, late, overdue, total in found:
        decided = int(on_time or 0) + int(late or 0) + int(overdue or 0)
        rows.append(
            {
                "step": step,
                "due": int(total),
                "on_time": int(on_time or 0),
                "late": int(late or 0),
                "open_overdue": int(overdue or 0),
                "on_time_rate": round(int(on_time or 0) / decided, 4) if decided else None,
            }
        )
    return {"rows": sorted(rows, key=lambda r: r["step"])}


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 2)


async def closure_times(s: AsyncSession, p: Period, now: datetime) -> Data:
    """Days from receipt to closing of the cases closed in the period, by severity."""
    found = await s.execute(
        select(Case.severity, Case.received_at, Case.closed_at).where(
            Case.closed_at >= p.start, Case.closed_at < p.end, Case.state == CaseState.CLOSED
        )
    )
    by: dict[str, list[float]] = {}
    for severity, received, closed in found:
        if closed is None:
            continue
        by.setdefault(str(severity), []).append((closed - received).total_seconds() / 86400)
    everything = [d for days in by.values() for d in days]
    rows = [
        {"severity": k, "cases": len(v), "median_days": _percentile(v, 0.5), "p90_days": _percentile(v, 0.9)}
        for k, v in sorted(by.items())
    ]
    return {"rows": rows, "median_days": _percentile(everything, 0.5), "p90_days": _percentile(everything, 0.9)}


async def service_reports(s: AsyncSession, p: Period, now: datetime) -> Data:
    """On-site service (6.6): visits planned in the period, by state; time spent; confirmations."""
    found = await s.execute(
        select(
            ServiceReport.state,
            func.count(),
            func.sum(ServiceReport.minutes_spent),
            func.count(ServiceReport.confirmed_at),
        )
        .where(ServiceReport.planned_start >= p.start, ServiceReport.planned_start < p.end)
        .group_by(ServiceReport.state)
    )
    rows: list[Data] = [
        {"state": st, "reports": int(n), "hours": round((m or 0) / 60, 1), "confirmed": int(c)} for st, n, m, c in found
    ]
    how = await s.execute(
        select(ServiceReport.confirmed_how, ServiceReport.confirmation_rating, func.count())
        .where(ServiceReport.planned_start >= p.start, ServiceReport.planned_start < p.end)
        .where(ServiceReport.confirmed_at.is_not(None))
        .group_by(ServiceReport.confirmed_how, ServiceReport.confirmation_rating)
    )
    return {
        "rows": sorted(rows, key=lambda r: r["state"]),
        "reports": sum(r["reports"] for r in rows),
        "hours": round(sum(r["hours"] for r in rows), 1),
        "confirmations": [{"how": h or "", "rating": r or "", "count": int(n)} for h, r, n in how],
    }
