"""The field failure records of a period, read in chunks for an export that does not hold them
all in memory (kefu export field-records; the reports' workbooks hold the aggregates)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.store.models import Case, Customer, FieldFailure

CHUNK = 5000
COLUMNS = (
    "failure_date",
    "part_number",
    "batch",
    "failure_mode",
    "quantity",
    "customer",
    "reference",
    "source_kind",
    "production_date",
    "months_in_service",
    "mileage_km",
)


async def count_records(s: AsyncSession, first_day: date, last_day: date) -> int:
    f = FieldFailure
    query = select(func.count()).select_from(f).where(f.failure_date >= first_day, f.failure_date <= last_day)
    return int(await s.scalar(query) or 0)


async def records(
    s: AsyncSession, first_day: date, last_day: date, chunk: int = CHUNK
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """Rows in the order of COLUMNS, oldest record first, `chunk` at a time (keyset on the id:
    each chunk one short query, on SQLite and PostgreSQL alike)."""
    f = FieldFailure
    after = 0
    while True:
        rows = (
            await s.execute(
                select(
                    f.id,
                    f.failure_date,
                    f.part_number,
                    f.batch,
                    f.failure_mode,
                    f.quantity,
                    Customer.name,
                    Case.reference,
                    f.source_kind,
                    f.production_date,
                    f.months_in_service,
                    f.mileage_km,
                )
                .outerjoin(Customer, Customer.id == f.customer_id)
                .outerjoin(Case, Case.id == f.case_id)
                .where(f.failure_date >= first_day, f.failure_date <= last_day, f.id > after)
                .order_by(f.id)
                .limit(chunk)
            )
        ).all()
        if not rows:
            return
        after = rows[-1][0]
        yield [tuple(row[1:]) for row in rows]
