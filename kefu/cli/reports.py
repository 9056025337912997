"""`kefu report ...`: the procedure's reports from the server's console (docs/reports.md).

kefu report quarterly --quarter 2026Q3 --out reports/        # a draft: HTML, PDF, Excel
kefu report quarterly --quarter 2026Q3 --issue --approved-by 王总   # a frozen revision
kefu report service --year 2026
kefu report review --period 2026-01-01..2026-06-30
kefu report list
kefu report get DFCPXS009A-2026Q3-R1 --format pdf --out q3.pdf
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from cases.reports import issued
from cases.reports.kinds import ReportKind
from cases.reports.period import parse_period
from kefu.bootstrap import Kefu
from kefu.cli.common import cli_actor, with_kefu
from kefu.documents.render import Header
from kefu.reports import build


def add_report_commands(sub: Any) -> None:
    report = sub.add_parser("report", help="the procedure's reports: HTML with charts, PDF, Excel (docs/reports.md)")
    what = report.add_subparsers(dest="report_command", required=True)
    for name, kind, help_text, flag in (
        ("quarterly", ReportKind.MARKETING, "the marketing summary report (营销总结报告) of a quarter", "--quarter"),
        ("service", ReportKind.SERVICE, "the yearly summary of on-site service reports", "--year"),
        ("review", ReportKind.REVIEW, "statistics for management review over any period", "--period"),
    ):
        one = what.add_parser(name, help=help_text)
        one.add_argument(flag, dest="period", required=True, help="2026Q3, 2026 or 2026-07-01..2026-09-30")
        one.add_argument("--language", choices=["zh", "en"], default="zh")
        one.add_argument("--out", type=Path, default=Path("."), help="folder for the files (default: here)")
        one.add_argument("--issue", action="store_true", help="freeze it as the next revision (a record)")
        one.add_argument("--approved-by", default="", help="who approved it (required with --issue)")
        one.add_argument("--no-pdf", action="store_true", help="skip the PDF (no WeasyPrint here)")
        one.set_defaults(fn=cmd_report, kind=kind)
    listing = what.add_parser("list", help="the issued reports")
    listing.add_argument("--kind", choices=[k.value for k in ReportKind])
    listing.set_defaults(fn=cmd_list)
    get = what.add_parser("get", help="an issued report's file")
    get.add_argument("record_number")
    get.add_argument("--format", choices=list(issued.FORMATS), default="pdf")
    get.add_argument("--out", type=Path, help="file to write (default: the record number in this folder)")
    get.set_defaults(fn=cmd_get)


def _say(text: str) -> None:
    print(f"kefu: {text} …", file=sys.stderr, flush=True)


def cmd_report(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        period = parse_period(args.period, kefu.settings.tz)
        header = Header.of(kefu.settings)
        if args.issue:
            summary, docs = await build.issue(
                kefu.db,
                cli_actor(),
                args.kind,
                period,
                args.language,
                header,
                args.approved_by,
                kefu.clock(),
                _say,
            )
            stem = summary["record_number"]
        else:
            data = await build.draft(kefu.db, args.kind, period, kefu.clock(), _say)
            docs = build.documents(data, args.language, header, pdf=not args.no_pdf, progress=_say)
            stem = f"{args.kind.value}-{period.key}-draft"
        args.out.mkdir(parents=True, exist_ok=True)
        written = [args.out / f"{stem}.html", args.out / f"{stem}.xlsx"]
        written[0].write_text(docs.html, encoding="utf-8")
        written[1].write_bytes(docs.xlsx)
        if docs.pdf is not None:
            written.append(args.out / f"{stem}.pdf")
            written[-1].write_bytes(docs.pdf)
        for path in written:
            print(path)
        if args.issue:
            print(f"issued {stem}")

    asyncio.run(with_kefu(run))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            found = await issued.issued(s, ReportKind(args.kind) if args.kind else None)
        for r in found:
            print(
                f"{r['record_number']:<32} {r['issued_at'][:10]}  by {r['issued_by']:<12} approved {r['approved_by']}"
            )
        if not found:
            print("no report issued yet")

    asyncio.run(with_kefu(run))
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            content, _, name = await issued.issued_file(s, args.record_number, args.format)
        path = args.out or Path(name)
        path.write_bytes(content)
        print(path)

    asyncio.run(with_kefu(run))
    return 0
