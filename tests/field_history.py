"""A generated field history for the early-warning tests: a fixed seed, PARTS x MODES cells of
part x failure mode over 24 months, each failing at its own steady rate (a Poisson process),
spread over CUSTOMERS customers. `plant` adds a rise to one cell."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from cases.store.db import Database
from cases.store.models import Customer, FailureMode, FieldFailure

SEED = 16
PARTS = 30
MODES = 10
CUSTOMERS = 4
FIRST_DAY = date(2025, 1, 1)
DAYS = 730  # 24 months: 2025-01-01 .. 2026-12-31
PLANTED = ("3501-007", "M03")  # the cell the rise is planted in: one failure a month, steady
MODE_NAMES = [f"M{m:02d}" for m in range(MODES)]


def part_name(p: int) -> str:
    return f"3501-{p:03d}"


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: the means here are small (a cell's failures in a day).
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


@dataclass
class History:
    customer_ids: list[int]
    rows: int


def failures(customer_ids: list[int], seed: int = SEED) -> list[dict[str, Any]]:
    """The records: per cell a monthly rate between 0.05 and 2 (log-uniform), one failure a
    month in the planted cell; each failure on a day, for a random customer."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    at = datetime(2027, 1, 1, tzinfo=UTC)
    for p in range(PARTS):
        for mode in MODE_NAMES:
            cell = (part_name(p), mode)
            monthly = 1.0 if cell == PLANTED else math.exp(rng.uniform(math.log(0.05), math.log(2.0)))
            for day in range(DAYS):
                for _ in range(_poisson(rng, monthly / 30.44)):
                    rows.append(
                        {
                            "source_kind": "generated",
                            "source_id": len(rows) + 1,
                            "case_id": None,
                            "customer_id": rng.choice(customer_ids),
                            "part_number": cell[0],
                            "batch": f"B{(FIRST_DAY + timedelta(days=day)).strftime('%Y%m')}",
                            "failure_mode": mode,
                            "failure_date": FIRST_DAY + timedelta(days=day),
                            "production_date": None,
                            "months_in_service": None,
                            "mileage_km": None,
                            "quantity": 1,
                            "recorded_at": at,
                        }
                    )
    return rows


async def generate(db: Database, seed: int = SEED) -> History:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    async with db.unit_of_work() as s:
        customers = [Customer(name=f"主机厂 {c}", code=f"OEM{c}", created_at=now) for c in range(CUSTOMERS)]
        s.add_all(customers)
        # the history's failure modes are on the managed list, as a plant's own codes would be
        s.add_all(
            FailureMode(
                code=m, name_zh=f"失效模式 {m}", name_en=f"Failure mode {m}", updated_by="history", updated_at=now
            )
            for m in MODE_NAMES
        )
        await s.flush()
        ids = [c.id for c in customers]
    rows = failures(ids, seed)
    for start in range(0, len(rows), 2000):
        async with db.unit_of_work() as s:
            await s.execute(insert(FieldFailure), rows[start : start + 2000])
    return History(ids, len(rows))


def month_ends() -> list[date]:
    """The last day of each month of the history's second year: the monthly scans."""
    ends = []
    for month in range(1, 13):
        first_next = date(2026 + month // 12, month % 12 + 1, 1)
        ends.append(first_next - timedelta(days=1))
    return ends
