"""The months-in-service view of a part, as automotive warranty analysis reads it: failures
by how long the part had been in service when it failed, against the units that have reached
that age (shipments of at least that many months ago), as failures per thousand units and
cumulated. A batch that fails early shows as a steep start of the curve.

Months in service come from the record when known, else from its production date to its
failure date (30.44 days a month).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.errors import NotFound
from cases.field.exposure import shipped_by_part
from cases.store.models import FieldFailure

MAX_MONTHS = 120
DAYS_A_MONTH = 30.44


def _months_back(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(y, m + 1, 1)


async def months_in_service(s: AsyncSession, part_number: str, today: date) -> dict[str, Any]:
    rows = (
        await s.execute(
            select(
                FieldFailure.months_in_service, FieldFailure.production_date, FieldFailure.failure_date, func.count()
            )
            .where(FieldFailure.part_number == part_number)
            .group_by(FieldFailure.months_in_service, FieldFailure.production_date, FieldFailure.failure_date)
        )
    ).all()
    if not rows:
        raise NotFound(f"no field failures of part {part_number}", zh=f"零件 {part_number} 没有现场失效记录")
    by_age: dict[int, int] = {}
    unknown = 0
    for mis, produced, failed, n in rows:
        if mis is None and produced is not None and failed >= produced:
            mis = int((failed - produced).days / DAYS_A_MONTH)
        if mis is None or not 0 <= mis <= MAX_MONTHS:
            unknown += int(n)
            continue
        by_age[mis] = by_age.get(mis, 0) + int(n)
    shipped = (await shipped_by_part(s, [part_number])).get((part_number, None), [])
    cumulative = 0.0
    points = []
    for age in range(0, max(by_age, default=-1) + 1):
        failures = by_age.get(age, 0)
        reached = sum(units for month, units in shipped if month <= _months_back(today, age))
        rate = 1000.0 * failures / reached if reached else None
        if rate is not None:
            cumulative += rate
        points.append(
            {
                "months_in_service": age,
                "failures": failures,
                "units_reached": reached,
                "per_thousand": round(rate, 4) if rate is not None else None,
                "cumulative_per_thousand": round(cumulative, 4) if shipped else None,
            }
        )
    return {"part_number": part_number, "points": points, "unknown_age": unknown, "shipments_known": bool(shipped)}
