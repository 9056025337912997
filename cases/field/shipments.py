"""Shipments per part, batch, customer and month: what turns failure counts into rates.

An import checks each row and keeps the good ones; every rejected row is reported with its
line and reason, and nothing of it is stored. A row sets the quantity of its (part, batch,
customer, month): importing the same file again changes nothing, and a corrected file
replaces the quantities it names. Rows of one file with the same key are added up (a
shipment listed in two lines).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.field.shipment_files import Row
from cases.store.db import Database
from cases.store.models import Customer, Shipment

log = logging.getLogger(__name__)

CHUNK = 1000
MAX_QUANTITY = 2**31 - 1
_MONTH = re.compile(r"([0-9]{4})[-/.年]([0-9]{1,2})(?:[-/.月]([0-9]{1,2})?日?)?")
Key = tuple[str, str, str, date]


@dataclass
class ImportReport:
    rows: int = 0  # data rows read
    stored: int = 0  # distinct (part, batch, customer, month) written
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "stored": self.stored,
            "rejected": [{"line": line, "reason": reason} for line, reason in self.rejected],
        }


def parse_month(text: str) -> date:
    found = _MONTH.fullmatch(text.strip())
    if not found:
        raise ValueError(f"month {text!r} is not like 2026-11 or 2026-11-01")
    year, month = int(found.group(1)), int(found.group(2))
    if not 1 <= month <= 12 or not 1990 <= year <= 2200:
        raise ValueError(f"month {text!r} is not a month")
    return date(year, month, 1)


def check_row(cells: dict[str, str]) -> tuple[Key, int]:
    """(key, quantity) of a row; ValueError with the reason a person can act on."""
    part = cells.get("part_number", "").strip()
    if not part:
        raise ValueError("the part number is empty")
    if len(part) > 80:
        raise ValueError("the part number is longer than 80 characters")
    batch, customer = cells.get("batch", "").strip(), cells.get("customer", "").strip()
    if len(batch) > 80:
        raise ValueError("the batch is longer than 80 characters")
    if len(customer) > 200:
        raise ValueError("the customer is longer than 200 characters")
    month = parse_month(cells.get("month", ""))
    raw = cells.get("quantity", "").replace(",", "").strip()
    try:
        quantity = int(float(raw)) if raw and float(raw).is_integer() else int(raw)
    except ValueError:
        raise ValueError(f"the quantity {raw!r} is not a whole number") from None
    if not 0 <= quantity <= MAX_QUANTITY:
        raise ValueError(f"the quantity {quantity} is out of range")
    return (part, batch, customer, month), quantity


async def _customers(s: AsyncSession, names: set[str]) -> dict[str, int]:
    """Customer ids by the code or name the file gives (the archive's code first)."""
    found: dict[str, int] = {}
    wanted = sorted(n for n in names if n)
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        rows = await s.execute(
            select(Customer.id, Customer.code, Customer.name).where(
                or_(Customer.code.in_(part), Customer.name.in_(part))
            )
        )
        for cid, code, name in rows:
            found.setdefault(name, cid)
            if code:
                found[code] = cid
    return found


async def _store(s: AsyncSession, chunk: dict[Key, int], source: str, now: datetime) -> None:
    dialect = s.bind.dialect.name if s.bind is not None else "sqlite"
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    ids = await _customers(s, {k[2] for k in chunk})
    stmt = insert(Shipment)
    stmt = stmt.on_conflict_do_update(
        index_elements=["part_number", "batch", "customer", "month"],
        set_={
            "quantity": stmt.excluded.quantity,
            "source": stmt.excluded.source,
            "customer_id": stmt.excluded.customer_id,
        },
    )
    await s.execute(
        stmt,
        [
            dict(
                part_number=p,
                batch=b,
                customer=c,
                customer_id=ids.get(c),
                month=m,
                quantity=q,
                source=source[:255],
                imported_at=now,
            )
            for (p, b, c, m), q in chunk.items()
        ],
    )


async def import_rows(
    db: Database,
    rows: Iterable[Row],
    source: str,
    now: datetime,
    progress: Callable[[int], None] = lambda n: None,
) -> ImportReport:
    """Check and store the rows; `progress(rows read)` after each chunk."""
    report = ImportReport()
    good: dict[Key, int] = {}
    for line, cells in rows:
        report.rows += 1
        try:
            key, quantity = check_row(cells)
        except ValueError as exc:
            report.rejected.append((line, str(exc)))
            continue
        good[key] = good.get(key, 0) + quantity
        if report.rows % CHUNK == 0:
            progress(report.rows)
    keys = list(good)
    for start in range(0, len(keys), CHUNK):
        async with db.unit_of_work() as s:
            await _store(s, {k: good[k] for k in keys[start : start + CHUNK]}, source, now)
        report.stored = min(len(keys), start + CHUNK)
    progress(report.rows)
    log.info(
        "shipments: %d rows read from %s, %d stored, %d rejected",
        report.rows,
        source,
        report.stored,
        len(report.rejected),
    )
    return report


async def shipped_total(s: AsyncSession) -> int:
    return int(await s.scalar(select(func.coalesce(func.sum(Shipment.quantity), 0))) or 0)
