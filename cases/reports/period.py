"""A report's period: a quarter (2026Q3), a year (2026) or dates (2026-07-01..2026-08-15), in
the site's time zone; stored and compared as UTC instants [start, end)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cases.domain.errors import InvalidInput

_QUARTER = re.compile(r"^(\d{4})\s*[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|/|~)\s*(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True, slots=True)
class Period:
    key: str  # 2026Q3, 2026, 2026-07-01..2026-08-15: names the report and its record number
    first_day: date
    last_day: date  # inclusive
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), self.tz).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(), self.tz).astimezone(UTC)

    def months(self) -> list[date]:
        """The first day of every month the period touches, in order."""
        out, day = [], self.first_day.replace(day=1)
        while day <= self.last_day:
            out.append(day)
            day = (day + timedelta(days=32)).replace(day=1)
        return out


def parse_period(text: str, tz: ZoneInfo) -> Period:
    value = text.strip()
    if m := _QUARTER.match(value):
        year, quarter = int(m[1]), int(m[2])
        first = date(year, 3 * quarter - 2, 1)
        last = (date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1)) - timedelta(days=1)
        return Period(f"{year}Q{quarter}", first, last, tz)
    if m := _YEAR.match(value):
        year = int(m[1])
        return Period(str(year), date(year, 1, 1), date(year, 12, 31), tz)
    if m := _RANGE.match(value):
        try:
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        except ValueError as exc:
            raise InvalidInput(f"not a date in {value!r}: {exc}", zh=f"{value!r} 中有无效日期：{exc}") from None
        if last < first:
            raise InvalidInput(
                f"the period {value!r} ends before it starts", zh=f"期间 {value!r} 的结束日期早于开始日期"
            )
        if (last - first).days > 3 * 366:
            raise InvalidInput(f"the period {value!r} is longer than three years", zh=f"期间 {value!r} 超过三年")
        return Period(f"{first}..{last}", first, last, tz)
    raise InvalidInput(
        f"a period is a quarter (2026Q3), a year (2026) or two dates (2026-07-01..2026-08-15), not {text!r}",
        zh=f"期间须为一个季度（2026Q3）、一年（2026）或两个日期（2026-07-01..2026-08-15），而不是 {text!r}",
    )


def quarter_of(day: date, tz: ZoneInfo) -> Period:
    return parse_period(f"{day.year}Q{(day.month - 1) // 3 + 1}", tz)


def previous_quarter(day: date, tz: ZoneInfo) -> Period:
    """The last quarter that has ended by `day`."""
    this = quarter_of(day, tz)
    return quarter_of(this.first_day - timedelta(days=1), tz)
