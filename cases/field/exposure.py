"""Units in service from the imported shipments: what turns failure counts into rates.

A part shipped in a month counts as in service from the first day of that month (we know the
month, not the day; counting from its first day makes the rate a little lower, never higher,
than the true one: an alarm on a rate is not raised by this choice). Exposure over a period
is in unit-days: the sum over its days of the units in service that day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.store.models import Shipment

Shipped = list[tuple[date, int]]  # (month, units) of one part


async def shipped_by_part(s: AsyncSession, parts: Iterable[str]) -> dict[tuple[str, int | None], Shipped]:
    """Monthly shipments of the given parts: under (part, None) to every customer, and under
    (part, customer id) to each customer the archive knows."""
    names = sorted(set(parts))
    found: dict[tuple[str, int | None], Shipped] = defaultdict(list)
    for start in range(0, len(names), 500):
        stmt = (
            select(Shipment.part_number, Shipment.customer_id, Shipment.month, func.sum(Shipment.quantity))
            .where(Shipment.part_number.in_(names[start : start + 500]))
            .group_by(Shipment.part_number, Shipment.customer_id, Shipment.month)
        )
        for part, customer_id, month, units in await s.execute(stmt):
            found[(part, None)].append((month, int(units or 0)))
            if customer_id is not None:
                found[(part, customer_id)].append((month, int(units or 0)))
    return found


def exposure(shipped: Shipped, first: date, last: date) -> float:
    """Unit-days in service from `first` to `last` (both included)."""
    total = 0
    for month, units in shipped:
        start = max(first, month)
        if start <= last:
            total += units * ((last - start).days + 1)
    return float(total)


Exposures = dict[tuple[str, int | None], tuple[float, float]]  # (baseline, window) unit-days


def _month_starts(first: date, last: date) -> list[date]:
    """The first days of the months that begin after `first` and not after `last`."""
    found: list[date] = []
    y, m = first.year, first.month
    while True:
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        start = date(y, m, 1)
        if start > last:
            return found
        found.append(start)


def _days_weight(first: date, last: date) -> Any:
    """Per shipment month, the days from `first` to `last` its units are in service: every day
    for a month up to `first`, from its first day for a month within, none after. Months are
    first days (the import makes them so), so a CASE over the few months within says it all,
    on any database."""
    whens: list[Any] = [(Shipment.month <= first, (last - first).days + 1)]
    whens += [(Shipment.month == start, (last - start).days + 1) for start in _month_starts(first, last)]
    return case(*whens, else_=0)


async def exposures(
    s: AsyncSession, parts: Iterable[str], baseline: tuple[date, date], window: tuple[date, date]
) -> Exposures:
    """Unit-days in service in the baseline and in the window, per (part, None) for all
    customers and per (part, customer id): summed by the database, a few rows a part."""
    names = sorted(set(parts))
    found: dict[tuple[str, int | None], tuple[float, float]] = {}
    base_w, window_w = _days_weight(*baseline), _days_weight(*window)
    for start in range(0, len(names), 500):
        stmt = (
            select(
                Shipment.part_number,
                Shipment.customer_id,
                func.sum(Shipment.quantity * base_w),
                func.sum(Shipment.quantity * window_w),
            )
            .where(Shipment.part_number.in_(names[start : start + 500]), Shipment.month <= window[1])
            .group_by(Shipment.part_number, Shipment.customer_id)
        )
        for part, customer_id, base, win in await s.execute(stmt):
            b, w = float(base or 0), float(win or 0)
            all_b, all_w = found.get((part, None), (0.0, 0.0))
            found[(part, None)] = (all_b + b, all_w + w)
            if customer_id is not None:
                found[(part, customer_id)] = (b, w)
    return found


def units_by(shipped: Shipped, day: date) -> int:
    """Units in service on `day`."""
    return sum(units for month, units in shipped if month <= day)
