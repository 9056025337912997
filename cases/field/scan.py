"""The early-warning scan (早期报警, procedure 6.5): per part x failure mode, and per customer,
the failures in a rolling window against the level the baseline before it leads us to expect.

    expected = (baseline failures + 1) x window / baseline          (c-chart, counts)
    expected = (baseline failures + 1) x exposure(window) / exposure(baseline)
                                                                     (u-chart, where shipments
                                                                      give units in service)
    signal   = observed >= min_count and P(Poisson(expected) >= observed) <= alpha

The +1 keeps a cell with no failures in its baseline from expecting none (three failures of a
part that never failed are news, but not proof); it leans the expectation up, never down.
Customer cells are scanned too, but a customer's cell whose part x failure-mode cell already
signals adds no alert: one rise, one alert. docs/field-data.md explains the choice of rule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case as when
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cases.field.exposure import exposures
from cases.field.poisson import upper_limit, upper_tail
from cases.field.thresholds import Rules, read_rules
from cases.store.models import FieldFailure

log = logging.getLogger(__name__)

PRIOR_FAILURES = 1  # added to the baseline count (see above)
SCAN_WORK_MEM = "64MB"  # for the scan's transaction only, on PostgreSQL


@dataclass(frozen=True, slots=True)
class Window:
    """The window [start, end] and the baseline [baseline_start, start) before it, in days."""

    start: date
    end: date
    baseline_start: date

    @classmethod
    def ending(cls, day: date, window_days: int, baseline_days: int) -> Window:
        start = day - timedelta(days=window_days - 1)
        return cls(start, day, start - timedelta(days=baseline_days))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def baseline_period(self) -> tuple[date, date]:
        return self.baseline_start, self.start - timedelta(days=1)

    @property
    def baseline_days(self) -> int:
        return (self.start - self.baseline_start).days


@dataclass(frozen=True, slots=True)
class Signal:
    part_number: str
    failure_mode: str
    customer_id: int | None
    rule: str  # c_chart or u_chart
    observed: int
    baseline: int
    expected: float
    upper_limit: int
    p_value: float
    exposure: float | None

    @property
    def cell(self) -> str:
        return f"{self.part_number}|{self.failure_mode}|{self.customer_id or ''}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "part_number": self.part_number,
            "failure_mode": self.failure_mode,
            "customer_id": self.customer_id,
            "rule": self.rule,
            "observed": self.observed,
            "baseline": self.baseline,
            "expected": round(self.expected, 4),
            "upper_limit": self.upper_limit,
            "p_value": self.p_value,
            "exposure_unit_days": self.exposure,
        }


Counts = list[tuple[str, str, int | None, int, int]]  # part, mode, customer, in window, in baseline


async def cell_counts(s: AsyncSession, w: Window, least: int, per_customer: bool) -> Counts:
    """Failure events per cell in the window and in its baseline: one aggregate query over the
    index (failure_date, part_number, failure_mode, customer_id); cells with fewer than `least`
    events in the window are left out by the database, as none of them can signal."""
    in_window = func.sum(when((FieldFailure.failure_date >= w.start, 1), else_=0))
    keys: list[Any] = [FieldFailure.part_number, FieldFailure.failure_mode]
    if per_customer:
        keys.append(FieldFailure.customer_id)
    stmt = (
        select(*keys, in_window, func.count())
        .where(FieldFailure.failure_date >= w.baseline_start, FieldFailure.failure_date <= w.end)
        .group_by(*keys)
        .having(in_window >= least)
    )
    found: Counts = []
    for row in await s.execute(stmt):
        n, total = int(row[-2]), int(row[-1])
        found.append((row[0], row[1], row[2] if per_customer else None, n, total - n))
    return found


def judge(
    part: str,
    mode: str,
    customer: int | None,
    observed: int,
    baseline: int,
    w: Window,
    rules: Rules,
    exposure: tuple[float, float] | None = None,
) -> Signal | None:
    rule = rules.for_cell(part, mode)
    if observed < rule.min_count:
        return None
    base_exposure, window_exposure = exposure or (0.0, 0.0)
    if base_exposure > 0 and window_exposure > 0:
        kind, seen = "u_chart", window_exposure
        expected = (baseline + PRIOR_FAILURES) * window_exposure / base_exposure
    else:
        kind, seen = "c_chart", None
        expected = (baseline + PRIOR_FAILURES) * w.days / w.baseline_days
    p = upper_tail(observed, expected)
    if p > rule.alpha:
        return None
    return Signal(part, mode, customer, kind, observed, baseline, expected, upper_limit(expected, rule.alpha), p, seen)


async def find_signals(s: AsyncSession, w: Window, per_customer: bool = True) -> tuple[list[Signal], int]:
    """The signals of one scan, the part x failure-mode cells first; and how many cells were
    judged (those with at least the least count in the window)."""
    rules = await read_rules(s)
    if s.bind is not None and s.bind.dialect.name == "postgresql":
        # The per-customer aggregate hashes ~100,000 groups a million records; PostgreSQL's
        # default work_mem (4 MB) sends it to a sort on disk: 1.9 s against 1.2 s (bench/README.md).
        await s.execute(text(f"SET LOCAL work_mem = '{SCAN_WORK_MEM}'"))
    overall = await cell_counts(s, w, rules.least_count, per_customer=False)
    customers = await cell_counts(s, w, rules.least_count, per_customer=True) if per_customer else []
    parts = {cell[0] for cell in overall} | {cell[0] for cell in customers}
    known = await exposures(s, parts, w.baseline_period, (w.start, w.end)) if parts else {}
    signals = [
        sig for p, m, c, n, b in overall if (sig := judge(p, m, c, n, b, w, rules, known.get((p, None)))) is not None
    ]
    loud = {(sig.part_number, sig.failure_mode) for sig in signals}
    for p, m, c, n, b in customers:
        if c is None or (p, m) in loud:
            continue
        if (sig := judge(p, m, c, n, b, w, rules, known.get((p, c)))) is not None:
            signals.append(sig)
    return signals, len(overall) + len(customers)


def window_of(now: datetime, tz: ZoneInfo, window_days: int, baseline_days: int) -> Window:
    return Window.ending(now.astimezone(tz).date(), window_days, baseline_days)
