"""The working-day calendar deadlines in working days are counted on.

China's public holidays move every year and come with make-up working days (调休: a Saturday
or Sunday that is worked). The State Council publishes the next year's schedule late in the
year; the `chinesecalendar` package carries the years published when it was released. The
editable table (calendar_days) holds what the library does not: the years it does not know
yet, plant shutdowns, and overrides. What the table says of a day wins; else the library
for a year it knows; else Monday to Friday.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.enums import Role
from cases.domain.errors import Forbidden, InvalidInput, NotFound
from cases.store.models import CalendarDay

log = logging.getLogger(__name__)

# Who keeps the calendar: the approvers (management) and the admins.
CALENDAR_KEEPERS: frozenset[Role] = frozenset({Role.APPROVER, Role.ADMIN})
FIRST_YEAR, LAST_YEAR = 2000, 2100  # a day outside is a typing mistake


class DayKind(StrEnum):
    HOLIDAY = "holiday"  # a public holiday (the library does not know the year yet, or an override)
    WORKDAY = "workday"  # a make-up working day (调休) on a weekend, or an override
    SHUTDOWN = "shutdown"  # the plant is shut: not a working day


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """Which days are working days: the table's entries (day -> kind) over the library."""

    entries: dict[date, DayKind]

    def is_working_day(self, day: date) -> bool:
        kind = self.entries.get(day)
        if kind is not None:
            return kind is DayKind.WORKDAY
        known = library_says(day)
        return known if known is not None else day.weekday() < 5

    def add_working_days(self, start: date, count: int) -> date:
        """The `count`-th working day after `start` (`start` itself not counted)."""
        day = start
        for _ in range(count):
            day += timedelta(days=1)
            while not self.is_working_day(day):
                day += timedelta(days=1)
        return day

    def end_of_working_days(self, notice: datetime, count: int, tz: ZoneInfo) -> datetime:
        """The end (23:59:59 local) of the `count`-th working day after the day of `notice`."""
        day = self.add_working_days(notice.astimezone(tz).date(), count)
        return datetime.combine(day, time(23, 59, 59), tz).astimezone(ZoneInfo("UTC"))


def library_says(day: date) -> bool | None:
    """Whether `chinesecalendar` has `day` as a working day; None for a year it does not know."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # "no available data for year ..."
        return None


def library_knows(year: int) -> bool:
    return library_says(date(year, 6, 1)) is not None


async def load(s: AsyncSession, start: date | None = None, end: date | None = None) -> WorkingCalendar:
    """The table's entries (all, or those between start and end) as a calendar."""
    stmt = select(CalendarDay.day, CalendarDay.kind)
    if start is not None:
        stmt = stmt.where(CalendarDay.day >= start)
    if end is not None:
        stmt = stmt.where(CalendarDay.day <= end)
    return WorkingCalendar({day: DayKind(kind) for day, kind in (await s.execute(stmt)).all()})


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(value: str) -> date:
    try:
        # Only YYYY-MM-DD: Python 3.11 also reads "20271001" and week dates, which nobody means.
        if not _DAY.fullmatch((value or "").strip()):
            raise ValueError(value)
        day = date.fromisoformat((value or "").strip())
    except ValueError:
        raise InvalidInput(
            f"a calendar day is a date like 2027-10-01, got {value!r}",
            zh=f"日历日须为日期，例如 2027-10-01，实际为 {value!r}",
        ) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidInput(
            f"a calendar day must lie between {FIRST_YEAR} and {LAST_YEAR}, got {value}",
            zh=f"日历日须在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间，实际为 {value}",
        )
    return day


def _keeper(actor: Actor) -> None:
    if not actor.roles & CALENDAR_KEEPERS:
        raise Forbidden(
            "keeping the working-day calendar needs the role admin or approver", zh="维护工作日历需要管理员或审批人角色"
        )


async def year_view(s: AsyncSession, year: int) -> dict[str, object]:
    """A year as the API shows it: the table's entries, and the library's holidays and make-up
    working days when it knows the year."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(
            f"the year must lie between {FIRST_YEAR} and {LAST_YEAR}, got {year}",
            zh=f"年份须在 {FIRST_YEAR} 至 {LAST_YEAR} 之间，实际为 {year}",
        )
    rows = (
        await s.execute(
            select(CalendarDay)
            .where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
            .order_by(CalendarDay.day)
        )
    ).scalars()
    library: list[dict[str, str]] = []
    if library_knows(year):
        day = date(year, 1, 1)
        while day.year == year:
            working = library_says(day)
            if working is not (day.weekday() < 5):
                library.append({"day": day.isoformat(), "kind": "workday" if working else "holiday"})
            day += timedelta(days=1)
    return {
        "year": year,
        "library_knows_year": library_knows(year),
        "entries": [entry_row(r) for r in rows],
        "library_days": library,
    }


def entry_row(row: CalendarDay) -> dict[str, str]:
    return {
        "day": row.day.isoformat(),
        "kind": row.kind,
        "note": row.note,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at.isoformat().replace("+00:00", "Z"),
    }


async def put_day(s: AsyncSession, actor: Actor, value: str, kind: str, note: str, now: datetime) -> CalendarDay:
    _keeper(actor)
    day = parse_day(value)
    try:
        kind_ = DayKind(kind)
    except ValueError:
        raise InvalidInput(
            f"unknown kind of day {kind!r}; one of: {', '.join(DayKind)}",
            zh=f"未知的日期类型 {kind!r}；可选：{', '.join(DayKind)}",
        ) from None
    if len(note) > 200:
        raise InvalidInput("the note is longer than 200 characters", zh="备注超过 200 个字符")
    row = await s.get(CalendarDay, day)
    if row is None:
        row = CalendarDay(day=day, kind=kind_.value, note=note, updated_by=actor.label, updated_at=now)
        s.add(row)
    else:
        row.kind, row.note, row.updated_by, row.updated_at = kind_.value, note, actor.label, now
    log.info("calendar: %s is a %s (%s), by %s", day, kind_.value, note, actor.label)
    return row


async def delete_day(s: AsyncSession, actor: Actor, value: str) -> None:
    _keeper(actor)
    day = parse_day(value)
    if (await s.execute(delete(CalendarDay).where(CalendarDay.day == day))).rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"the calendar has no entry for {day}", zh=f"日历中没有 {day} 的条目")
    log.info("calendar: entry for %s removed by %s", day, actor.label)
