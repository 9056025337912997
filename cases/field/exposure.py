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

from sqlalchemy import func, select
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


def units_by(shipped: Shipped, day: date) -> int:
    """Units in service on `day`."""
    return sum(units for month, units in shipped if month <= day)
