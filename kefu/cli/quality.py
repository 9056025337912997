"""`kefu calendar ...`, `kefu overdue`, `kefu service-report`: the working-day calendar, the
overdue agreed steps and a service report's form from the server's console (docs/quality.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from cases.quality import calendar
from cases.quality.report_html import LANGUAGES, render_service_report
from cases.queries import quality_views
from cases.queries.case_views import EVERYTHING
from kefu.bootstrap import Kefu
from kefu.cli.common import cli_actor, with_kefu


def add_quality_commands(sub: Any) -> None:
    cal = sub.add_parser("calendar", help="the working-day calendar (holidays, 调休, shutdowns)")
    what = cal.add_subparsers(dest="calendar_command", required=True)
    show = what.add_parser("show", help="a year: the table's entries and the library's holidays")
    show.add_argument("year", type=int)
    show.set_defaults(fn=cmd_calendar_show)
    put = what.add_parser("set", help="enter a day: holiday, workday (a make-up working day) or shutdown")
    put.add_argument("day", help="YYYY-MM-DD")
    put.add_argument("kind", choices=[k.value for k in calendar.DayKind])
    put.add_argument("--note", default="")
    put.set_defaults(fn=cmd_calendar_set)
    unset = what.add_parser("unset", help="remove a day's entry")
    unset.add_argument("day", help="YYYY-MM-DD")
    unset.set_defaults(fn=cmd_calendar_unset)
    overdue = sub.add_parser("overdue", help="agreed steps past due on cases that still owe the answer")
    overdue.add_argument("--json", action="store_true")
    overdue.set_defaults(fn=cmd_overdue)
    form = sub.add_parser("service-report", help="a service report as the paper form (HTML on stdout)")
    form.add_argument("reference")
    form.add_argument("report_id", type=int)
    form.add_argument("--language", default="zh", choices=list(LANGUAGES))
    form.set_defaults(fn=cmd_service_report)


def cmd_calendar_show(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            year = await calendar.year_view(s, args.year)
        known = "known to the library" if year["library_knows_year"] else "NOT known to the library: the table counts"
        print(f"{args.year}: {known}")
        for day in year["library_days"]:  # type: ignore[attr-defined]
            print(f"  {day['day']}  {day['kind']:<9} (library)")
        for entry in year["entries"]:  # type: ignore[attr-defined]
            print(f"  {entry['day']}  {entry['kind']:<9} {entry['note']}  (table, {entry['updated_by']})")

    asyncio.run(with_kefu(run))
    return 0


def cmd_calendar_set(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.unit_of_work() as s:
            await calendar.put_day(s, cli_actor(), args.day, args.kind, args.note, kefu.clock())
        print(f"{args.day}: {args.kind}")

    asyncio.run(with_kefu(run))
    return 0


def cmd_calendar_unset(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.unit_of_work() as s:
            await calendar.delete_day(s, cli_actor(), args.day)
        print(f"{args.day}: entry removed")

    asyncio.run(with_kefu(run))
    return 0


def cmd_overdue(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            found = await quality_views.overdue(s, EVERYTHING, kefu.clock(), 200, 0)
        if args.json:
            print(json.dumps(found, ensure_ascii=False, indent=2))
            return
        for item in found["items"]:
            print(
                f"{item['reference']:<16} {item['step']:<13} due {item['due_at']}  "
                f"{item['overdue_hours']:>7} h over  {item['department'] or '-':<22} {item['subject'][:40]}"
            )
        print(f"({len(found['items'])} of {found['total']})")

    asyncio.run(with_kefu(run))
    return 0


def cmd_service_report(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            report, case = await quality_views.service_report_form(
                s, EVERYTHING, args.reference, args.report_id, kefu.settings.tz
            )
        print(render_service_report(report, case, kefu.settings.mail_from_name, args.language))

    asyncio.run(with_kefu(run))
    return 0
