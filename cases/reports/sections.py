"""What the reports count, one function a section, each over a period: plain data (rows of
key and count, rates, percentiles) that the HTML page, the charts, the PDF and the workbook all
show alike. Counted in the database where the rows are many (cases by month, by channel), in
Python where a period holds few (closure times)."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cases.domain.enums import CaseState, Satisfaction
from cases.reports.period import Period
from cases.store.models import (
    Case,
    CaseLink,
    Customer,
    Department,
    DueStep,
    FailureMode,
    FieldFailure,
    ServiceReport,
    Shipment,
    WarningAlert,
    WarrantyPart,
)

Data = dict[str, Any]
Section = Callable[[AsyncSession, Period, datetime], Awaitable[Data]]
TOP = 10  # rows a ranking shows; the rest are summed as "other"
OPEN_WORK = (CaseState.ASSIGNED, CaseState.ANALYSED, CaseState.MEASURES_TAKEN, CaseState.VERIFIED)


def _received(p: Period) -> Any:
    return and_(Case.received_at >= p.start, Case.received_at < p.end)


def _ranked(rows: list[tuple[Any, int]], top: int = TOP) -> list[Data]:
    """Rows of key and count, largest first; past `top`, one "other" row; each with its share."""
    rows = sorted(((str(k) if k is not None else "", int(n)) for k, n in rows), key=lambda r: (-r[1], r[0]))
    total = sum(n for _, n in rows) or 1
    shown = rows[:top] + ([("other", sum(n for _, n in rows[top:]))] if len(rows) > top else [])
    out, running = [], 0
    for key, n in shown:
        running += n
        out.append({"key": key, "count": n, "share": round(n / total, 4), "cumulative": round(running / total, 4)})
    return out


async def _grouped(s: AsyncSession, p: Period, column: Any) -> list[Data]:
    found = await s.execute(select(column, func.count()).where(_received(p)).group_by(column))
    return _ranked([(k, n) for k, n in found], top=50)


async def totals(s: AsyncSession, p: Period, now: datetime) -> Data:
    received = await s.scalar(select(func.count()).select_from(Case).where(_received(p)))
    closed = await s.scalar(
        select(func.count()).select_from(Case).where(Case.closed_at >= p.start, Case.closed_at < p.end)
    )
    no_action = await s.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.state == CaseState.NO_ACTION, Case.closed_at >= p.start, Case.closed_at < p.end)
    )
    open_at_end = await s.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.received_at < p.end, or_(Case.closed_at.is_(None), Case.closed_at >= p.end))
    )
    return {
        "received": received or 0,
        "closed": closed or 0,
        "no_action": no_action or 0,
        "open_at_end": open_at_end or 0,
    }


async def by_channel(s: AsyncSession, p: Period, now: datetime) -> Data:
    return {"rows": await _grouped(s, p, Case.channel)}


async def by_type(s: AsyncSession, p: Period, now: datetime) -> Data:
    return {"rows": await _grouped(s, p, Case.type)}


async def by_severity(s: AsyncSession, p: Period, now: datetime) -> Data:
    return {"rows": await _grouped(s, p, Case.severity)}


async def by_customer(s: AsyncSession, p: Period, now: datetime) -> Data:
    found = await s.execute(
        select(Customer.name, func.count())
        .select_from(Case)
        .join(Customer, Customer.id == Case.customer_id)
        .where(_received(p))
        .group_by(Customer.id, Customer.name)
    )
    return {"rows": _ranked([(k, n) for k, n in found])}


async def by_part(s: AsyncSession, p: Period, now: datetime) -> Data:
    found = await s.execute(
        select(Case.part_number, func.count())
        .where(_received(p), Case.part_number.is_not(None))
        .group_by(Case.part_number)
    )
    return {"rows": _ranked([(k, n) for k, n in found])}


async def _mode_names(s: AsyncSession) -> dict[str, tuple[str, str]]:
    found = await s.execute(select(FailureMode.code, FailureMode.name_zh, FailureMode.name_en))
    return {code: (zh, en) for code, zh, en in found}


async def failure_modes(s: AsyncSession, p: Period, now: datetime) -> Data:
    """The Pareto of failure modes over the field failure records (complaints, warranty parts and
    service reports, each failure once: cases/field/records.py), by quantity, failure date in the
    period."""
    found = await s.execute(
        select(FieldFailure.failure_mode, func.sum(FieldFailure.quantity))
        .where(FieldFailure.failure_date >= p.first_day, FieldFailure.failure_date <= p.last_day)
        .where(FieldFailure.failure_mode != "")
        .group_by(FieldFailure.failure_mode)
    )
    names = await _mode_names(s)
    rows = _ranked([(mode, int(n or 0)) for mode, n in found])
    for row in rows:
        zh, en = names.get(row["key"], (row["key"], row["key"]))
        row["name_zh"], row["name_en"] = zh, en
    return {"rows": rows}


async def field_rates(s: AsyncSession, p: Period, now: datetime) -> Data:
    """Product monitoring: per part, the field failures of the period against the units shipped in
    the twelve months to its end (PPM), where shipments were imported (docs/field-data.md)."""
    failed = dict(
        (part, int(n or 0))
        for part, n in await s.execute(
            select(FieldFailure.part_number, func.sum(FieldFailure.quantity))
            .where(FieldFailure.failure_date >= p.first_day, FieldFailure.failure_date <= p.last_day)
            .group_by(FieldFailure.part_number)
        )
    )
    since = (p.months()[-1] - timedelta(days=334)).replace(day=1)  # twelve months with the last
    shipped = dict(
        (part, int(n or 0))
        for part, n in await s.execute(
            select(Shipment.part_number, func.sum(Shipment.quantity))
            .where(Shipment.month >= since, Shipment.month <= p.last_day)
            .group_by(Shipment.part_number)
        )
    )
    rows: list[Data] = [
        {
            "part_number": part,
            "failures": n,
            "shipped_12m": shipped.get(part),
            "ppm": round(1e6 * n / shipped[part], 1) if shipped.get(part) else None,
        }
        for part, n in sorted(failed.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    ]
    return {"rows": rows, "failures": sum(failed.values()), "shipped_12m": sum(shipped.values())}


async def early_warnings(s: AsyncSession, p: Period, now: datetime) -> Data:
    """Early-warning alerts raised in the period (6.5) and what was decided on each."""
    found = await s.execute(
        select(WarningAlert)
        .where(WarningAlert.raised_on >= p.first_day, WarningAlert.raised_on <= p.last_day)
        .order_by(WarningAlert.raised_on, WarningAlert.id)
        .limit(200)
    )
    rows: list[Data] = [
        {
            "raised_on": a.raised_on.isoformat(),
            "part_number": a.part_number,
            "failure_mode": a.failure_mode,
            "rule": a.rule,
            "observed": a.observed,
            "expected": round(a.expected, 2),
            "upper_limit": a.upper_limit,
            "decision": a.decision or "open",
        }
        for a in found.scalars()
    ]
    return {"rows": rows, "alerts": len(rows), "open": sum(1 for r in rows if r["decision"] == "open")}


async def repeats(s: AsyncSession, p: Period, now: datetime) -> Data:
    """Repeat complaints found in the period: same part and failure mode as an earlier case."""
    earlier = aliased(Case)
    later = aliased(Case)
    found = await s.execute(
        select(later.reference, earlier.reference, CaseLink.part_number, CaseLink.failure_mode)
        .join(later, later.id == CaseLink.case_id)
        .join(earlier, earlier.id == CaseLink.earlier_id)
        .where(CaseLink.kind == "repeat", CaseLink.found_at >= p.start, CaseLink.found_at < p.end)
        .order_by(CaseLink.found_at)
        .limit(200)
    )
    rows: list[Data] = [
        {"reference": ref, "repeat_of": first, "part_number": part, "failure_mode": mode}
        for ref, first, part, mode in found
    ]
    return {"rows": rows, "repeats": len(rows)}


async def trend(s: AsyncSession, p: Period, now: datetime) -> Data:
    """Cases received per month over the twelve months to the period's end, with c-chart limits
    (centre c̄, upper c̄ + 3√c̄): a month above the upper limit is flagged."""
    last = p.months()[-1]
    months: list[date] = []
    day = last
    for _ in range(12):
        months.insert(0, day)
        day = (day - timedelta(days=1)).replace(day=1)

    def bounds(first: Any) -> tuple[datetime, datetime]:
        following = (first + timedelta(days=32)).replace(day=1)
        start = datetime.combine(first, datetime.min.time(), p.tz)
        end = datetime.combine(following, datetime.min.time(), p.tz)
        return start, end

    columns = [
        func.sum(case((and_(Case.received_at >= a, Case.received_at < b), 1), else_=0))
        for a, b in (bounds(m) for m in months)
    ]
    first_start, last_end = bounds(months[0])[0], bounds(months[-1])[1]
    found = (
        await s.execute(select(*columns).where(Case.received_at >= first_start, Case.received_at < last_end))
    ).one()
    counts = [int(n or 0) for n in found]
    centre = sum(counts) / len(counts)
    upper = centre + 3 * math.sqrt(centre)
    lower = max(0.0, centre - 3 * math.sqrt(centre))
    return {
        "months": [
            {"month": f"{m:%Y-%m}", "count": n, "above_limit": n > upper} for m, n in zip(months, counts, strict=True)
        ],
        "centre": round(centre, 2),
        "upper_limit": round(upper, 2),
        "lower_limit": round(lower, 2),
    }


async def satisfaction(s: AsyncSession, p: Period, now: datetime) -> Data:
    rated = await s.execute(
        select(Case.rating, func.count())
        .where(Case.closed_at >= p.start, Case.closed_at < p.end, Case.rating.is_not(None))
        .group_by(Case.rating)
    )
    found = {rating: n for rating, n in rated}
    scores = (
        await s.execute(
            select(func.avg(Case.rating_score), func.count(Case.rating_score)).where(
                Case.closed_at >= p.start, Case.closed_at < p.end, Case.rating_score.is_not(None)
            )
        )
    ).one()
    counts = {r.value: int(found.get(r, 0)) for r in Satisfaction}
    answered = counts["satisfied"] + counts["neutral"] + counts["unsatisfied"]
    return {
        "counts": counts,
        "answered": answered,
        "satisfied_rate": round(counts["satisfied"] / answered, 4) if answered else None,
        "mean_score": round(float(scores[0]), 2) if scores[1] else None,
        "scored": int(scores[1]),
    }


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
