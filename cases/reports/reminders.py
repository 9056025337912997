"""The reminder that a quarter's marketing summary report is due (营销总结报告 DFCPXS009A: at
least every three months, procedure 6.5.4): KEFU_REPORT_REMINDER_DAYS after a quarter ends,
while no revision of its report is issued, Sales hear of it once.

Once: the row per (kind, period) in `report_reminders` is inserted with ``ON CONFLICT DO
NOTHING`` in the same transaction as the REPORT_DUE event, so two instances scanning at the
same moment, a second scan and a restart all find the row and write no second event. A table
rather than a unique key on the outbox: the outbox stays one shape for every event, and the
table is also the answer to "were we reminded of 2026Q3, and when".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, DateTime, Exists, String, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.clock import Clock
from cases.domain.events import EventKind
from cases.reports.kinds import REPORTS, ReportKind
from cases.reports.period import Period, previous_quarter
from cases.services.records import emit_staff_notice
from cases.store.db import Database
from cases.store.models import IssuedReport, ReportReminder
from cases.store.upsert import insert_or_skip

log = logging.getLogger(__name__)

ROUND_SECONDS = 3600.0  # a reminder counted in days needs no finer round
CONSOLE_PAGE = "/reports"


@dataclass(frozen=True, slots=True)
class Due:
    """A quarter's report that is due: the quarter and the first day it was overdue."""

    kind: ReportKind
    period: Period
    due_on: date


def due_report(today: date, tz: ZoneInfo, days: int) -> Due | None:
    """The latest quarter whose marketing report is due by `today`: `days` days have passed
    since it ended (due on its last day + 1 + days). None when `days` is 0 or less (off)."""
    if days <= 0:
        return None
    quarter = previous_quarter(today - timedelta(days=days), tz)
    return Due(ReportKind.MARKETING, quarter, quarter.last_day + timedelta(days=1 + days))


class ReportReminders:
    def __init__(
        self, db: Database, clock: Clock, tz: ZoneInfo, days: int, on_commit: Callable[[], None] = lambda: None
    ) -> None:
        self.db = db
        self.clock = clock
        self.tz = tz
        self.days = days  # KEFU_REPORT_REMINDER_DAYS
        self._on_commit = on_commit  # wakes the notification dispatcher

    async def run_round(self) -> bool:
        """One periodic round (cases/services/wakeup.run_rounds): True when it reminded."""
        due = due_report(self.clock().astimezone(self.tz).date(), self.tz, self.days)
        if due is None:
            return False
        async with self.db.reader() as s:  # most rounds end here, without taking a write lock
            if await s.scalar(select(_settled(due))):
                return False
        async with self.db.unit_of_work() as s:
            reminded = await self._remind(s, due)
        if reminded:
            self._on_commit()
        return reminded

    async def _remind(self, s: AsyncSession, due: Due) -> bool:
        """Insert the reminder's row unless it exists or the report was issued, and its event
        with it. One statement that writes first: on SQLite a transaction that read and then
        writes fails at once when another wrote meanwhile (WAL snapshot), where a first write
        waits its turn; on PostgreSQL the second of two inserts waits for the first's commit,
        then skips."""
        now = self.clock()
        dialect = s.bind.dialect.name if s.bind is not None else "sqlite"
        values = select(
            literal(due.kind.value, String()),
            literal(due.period.key, String()),
            literal(due.due_on, Date()),
            literal(now, DateTime(timezone=True)),
        ).where(~_issued(due))
        row_id = (
            await s.execute(
                insert_or_skip(dialect, ReportReminder, ["kind", "period"])
                .from_select(["kind", "period", "due_on", "reminded_at"], values)
                .returning(ReportReminder.id)
            )
        ).scalar_one_or_none()
        if row_id is None:
            return False  # reminded before (or by another instance a moment ago), or issued meanwhile
        spec = REPORTS[due.kind]
        emit_staff_notice(
            s,
            EventKind.REPORT_DUE,
            now,
            details={
                "kind": due.kind.value,
                "period": due.period.key,
                "title_zh": spec.title_zh,
                "title_en": spec.title_en,
                "record_prefix": spec.record_prefix,
                "first_day": due.period.first_day.isoformat(),
                "last_day": due.period.last_day.isoformat(),
                "due_on": due.due_on.isoformat(),
                "command": f"kefu report quarterly --quarter {due.period.key}",
                "console_page": CONSOLE_PAGE,
            },
        )
        log.info(
            "report reminder: %s %s due since %s, not issued: Sales reminded",
            spec.record_prefix,
            due.period.key,
            due.due_on,
        )
        return True


def _issued(due: Due) -> Exists:
    return exists().where(IssuedReport.kind == due.kind.value, IssuedReport.period == due.period.key)


def _settled(due: Due) -> ColumnElement[bool]:
    """Nothing to do: the report is issued, or its reminder went out."""
    reminded = exists().where(ReportReminder.kind == due.kind.value, ReportReminder.period == due.period.key)
    return or_(_issued(due), reminded)
