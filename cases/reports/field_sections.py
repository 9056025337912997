"""The report sections about the product in the field (procedure 6.5): the failure modes'
Pareto, field failures per part against what was shipped (PPM), the early-warning alerts and
the repeat complaints."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cases.field.service_life import months_in_service
from cases.reports.period import Period
from cases.reports.sections import TOP, Data, ranked
from cases.store.models import (
    Case,
    CaseLink,
    FailureMode,
    FieldFailure,
    Shipment,
    WarningAlert,
)


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
    rows = ranked([(mode, int(n or 0)) for mode, n in found])
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


SERVICE_LIFE_PARTS = 3  # the curves a report draws: the period's most failing parts


async def service_life(s: AsyncSession, p: Period, now: datetime) -> Data:
    """The months-in-service curves (cases/field/service_life.py) of the parts that failed most
    in the period, as automotive warranty analysis reads them: failures per thousand units that
    reached each age, cumulated; a batch that fails early shows as a steep start."""
    top = await s.execute(
        select(FieldFailure.part_number, func.sum(FieldFailure.quantity).label("n"))
        .where(FieldFailure.failure_date >= p.first_day, FieldFailure.failure_date <= p.last_day)
        .group_by(FieldFailure.part_number)
        .order_by(func.sum(FieldFailure.quantity).desc(), FieldFailure.part_number)
        .limit(SERVICE_LIFE_PARTS)
    )
    rows = []
    for part, _ in top.all():
        view = await months_in_service(s, part, p.last_day)
        rows += [
            {
                "part_number": part,
                "months_in_service": point["months_in_service"],
                "failures": point["failures"],
                "units_reached": point["units_reached"],
                "cumulative_per_thousand": point["cumulative_per_thousand"],
            }
            for point in view["points"]
        ]
    return {"rows": rows}
