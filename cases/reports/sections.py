"""What the reports count, one function a section, each over a period: plain data (rows of
key and count, rates, percentiles) that the HTML page, the charts, the PDF and the workbook all
show alike. Counted in the database where the rows are many (cases by month, by channel), in
Python where a period holds few (closure times). Here the counts of the cases themselves and
what every section shares; field_sections.py the product in the field, work_sections.py the
work done on the complaints."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.enums import CaseState, Satisfaction
from cases.reports.period import Period
from cases.store.models import (
    Case,
    Customer,
)

Data = dict[str, Any]
Section = Callable[[AsyncSession, Period, datetime], Awaitable[Data]]
TOP = 10  # rows a ranking shows; the rest are summed as "other"
OPEN_WORK = (CaseState.ASSIGNED, CaseState.ANALYSED, CaseState.MEASURES_TAKEN, CaseState.VERIFIED)


def received_in(p: Period) -> Any:
    return and_(Case.received_at >= p.start, Case.received_at < p.end)


def ranked(rows: list[tuple[Any, int]], top: int = TOP) -> list[Data]:
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
    found = await s.execute(select(column, func.count()).where(received_in(p)).group_by(column))
    return ranked([(k, n) for k, n in found], top=50)


async def totals(s: AsyncSession, p: Period, now: datetime) -> Data:
    received = await s.scalar(select(func.count()).select_from(Case).where(received_in(p)))
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
        .where(received_in(p))
        .group_by(Customer.id, Customer.name)
    )
    return {"rows": ranked([(k, n) for k, n in found])}


async def by_part(s: AsyncSession, p: Period, now: datetime) -> Data:
    found = await s.execute(
        select(Case.part_number, func.count())
        .where(received_in(p), Case.part_number.is_not(None))
        .group_by(Case.part_number)
    )
    return {"rows": ranked([(k, n) for k, n in found])}


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
