"""`kefu import shipments`, `kefu warnings ...`, `kefu batch show`: the field data, the early
warning and batch traceability from the server's console (docs/field-data.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from cases.domain.errors import InvalidInput
from cases.field import alerts, batches, service_life, thresholds
from cases.field.shipment_files import read_rows
from cases.field.shipments import import_rows
from cases.queries import field_records
from kefu.bootstrap import Kefu
from kefu.cli.common import cli_actor, with_kefu


def add_field_commands(sub: Any) -> None:
    imp = sub.add_parser("import", help="import data files").add_subparsers(dest="import_command", required=True)
    ship = imp.add_parser("shipments", help="shipments per part, batch, customer and month from .csv or .xlsx")
    ship.add_argument("file", type=Path)
    ship.add_argument("--json", action="store_true", help="the import report as JSON")
    ship.set_defaults(fn=cmd_import_shipments)

    warn = sub.add_parser("warnings", help="the early warning (早期报警): scan, alerts, thresholds")
    what = warn.add_subparsers(dest="warnings_command", required=True)
    scan = what.add_parser("scan", help="scan the field data now; new alerts notify their departments")
    scan.add_argument("--json", action="store_true")
    scan.set_defaults(fn=cmd_warnings_scan)
    lst = what.add_parser("list", help="alerts, newest first (open ones only unless --all)")
    lst.add_argument("--all", action="store_true")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(fn=cmd_warnings_list)
    show = what.add_parser("show", help="one alert with the cases behind it (JSON)")
    show.add_argument("alert_id", type=int)
    show.set_defaults(fn=cmd_warnings_show)
    ack = what.add_parser("ack", help="acknowledge an alert with a decision")
    ack.add_argument("alert_id", type=int)
    ack.add_argument("decision", choices=[d.value for d in alerts.Decision])
    ack.add_argument("--note", default="")
    ack.set_defaults(fn=cmd_warnings_ack)
    th = what.add_parser("thresholds", help="the editable thresholds (no arguments: list them)")
    th.add_argument("part_number", nargs="?", help="a part number, or * for any")
    th.add_argument("failure_mode", nargs="?", help="a failure mode code, or * for any")
    th.add_argument("--alpha", type=float, default=thresholds.DEFAULT_ALPHA, help="false-alarm probability")
    th.add_argument("--min-count", type=int, default=thresholds.DEFAULT_MIN_COUNT)
    th.add_argument("--delete", action="store_true", help="remove the row instead")
    th.set_defaults(fn=cmd_warnings_thresholds)
    mis = what.add_parser("months-in-service", help="a part's failures by months in service, per thousand units")
    mis.add_argument("part_number")
    mis.add_argument("--json", action="store_true")
    mis.set_defaults(fn=cmd_months_in_service)

    exp = sub.add_parser("export", help="export data as Excel").add_subparsers(dest="export_command", required=True)
    rec = exp.add_parser("field-records", help="the field failure records of a period as .xlsx, streamed")
    rec.add_argument("--from", dest="first_day", required=True, help="YYYY-MM-DD, the first failure date")
    rec.add_argument("--to", dest="last_day", required=True, help="YYYY-MM-DD, the last failure date")
    rec.add_argument("--language", default="zh", choices=["zh", "en"], help="of the column headings")
    rec.add_argument("--out", type=Path, required=True, help="the .xlsx file to write")
    rec.set_defaults(fn=cmd_export_field_records)

    batch = sub.add_parser("batch", help="batch traceability").add_subparsers(dest="batch_command", required=True)
    bshow = batch.add_parser("show", help="every customer, shipment and complaint of a batch")
    bshow.add_argument("batch")
    bshow.add_argument("--json", action="store_true")
    bshow.set_defaults(fn=cmd_batch_show)


def _dump(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def cmd_import_shipments(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"kefu: {path}: no such file", file=sys.stderr)
        return 1

    def progress(rows: int) -> None:
        print(f"\r{path.name}: {rows} rows read", end="", file=sys.stderr, flush=True)

    async def run(kefu: Kefu) -> int:
        report = await import_rows(kefu.db, read_rows(path), path.name, kefu.clock(), progress)
        print(file=sys.stderr)
        if args.json:
            _dump(report.as_dict())
        else:
            print(f"{path.name}: {report.rows} rows, {report.stored} shipments stored, {len(report.rejected)} rejected")
            for line, reason in report.rejected:
                print(f"  line {line}: {reason}")
        return 1 if report.rejected else 0

    return asyncio.run(with_kefu(run))


def cmd_warnings_scan(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        result = await kefu.early_warning.scan()
        if args.json:
            _dump(result.as_dict())
            return
        w = result.window
        print(f"window {w.start}..{w.end}, baseline from {w.baseline_start}; {result.fed} field records fed")
        print(f"{result.cells} cells judged, {len(result.signals)} signals, {len(result.opened)} new alerts")
        for sig in result.signals:
            who = f" customer #{sig.customer_id}" if sig.customer_id else ""
            print(
                f"  {sig.part_number} / {sig.failure_mode or '-'}{who}: {sig.observed} failures, "
                f"{sig.expected:.2f} expected, limit {sig.upper_limit} ({sig.rule}, p={sig.p_value:.2g})"
            )

    asyncio.run(with_kefu(run))
    return 0


def cmd_warnings_list(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            found = await alerts.list_alerts(s, not args.all, 200, 0)
        if args.json:
            _dump(found)
            return
        for a in found["items"]:
            state = f"{a['decision']} by {a['acknowledged_by']}" if a["decision"] else "OPEN"
            print(
                f"#{a['id']:<5} {a['raised_at'][:10]}  {a['part_number']:<16} {a['failure_mode'] or '-':<12} "
                f"{a['observed']:>4} vs {a['expected']:.2f}  {state}"
            )
        print(f"({len(found['items'])} of {found['total']})")

    asyncio.run(with_kefu(run))
    return 0


def cmd_warnings_show(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            _dump(await alerts.alert_detail(s, args.alert_id))

    asyncio.run(with_kefu(run))
    return 0


def cmd_warnings_ack(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        done = await kefu.early_warning.acknowledge(cli_actor_with_roles(), args.alert_id, args.decision, args.note)
        print(f"alert #{done['id']}: {done['decision']} ({len(done['cases'])} cases)")

    asyncio.run(with_kefu(run))
    return 0


def cli_actor_with_roles() -> Any:
    """The operator at the server's console acknowledges as Quality would."""
    from cases.domain.actors import Actor
    from cases.domain.enums import Role

    actor = cli_actor()
    return Actor(label=actor.label, roles=actor.roles | {Role.QUALITY})


def cmd_warnings_thresholds(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        if args.part_number and args.failure_mode:
            async with kefu.db.unit_of_work() as s:
                if args.delete:
                    await thresholds.delete_threshold(s, cli_actor(), args.part_number, args.failure_mode)
                else:
                    await thresholds.put_threshold(
                        s, cli_actor(), args.part_number, args.failure_mode, args.alpha, args.min_count, kefu.clock()
                    )
        async with kefu.db.reader() as s:
            rows = await thresholds.list_thresholds(s)
        print(f"default: alpha {thresholds.DEFAULT_ALPHA:g}, min count {thresholds.DEFAULT_MIN_COUNT}")
        for r in rows:
            print(f"  {r['part_number']:<16} {r['failure_mode']:<12} alpha {r['alpha']:g}  min count {r['min_count']}")

    asyncio.run(with_kefu(run))
    return 0


def cmd_months_in_service(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            view = await service_life.months_in_service(
                s, args.part_number, kefu.clock().astimezone(kefu.settings.tz).date()
            )
        if args.json:
            _dump(view)
            return
        print(f"{'MIS':>4} {'FAILURES':>9} {'UNITS':>10} {'PER 1000':>9} {'CUMULATED':>10}")
        for p in view["points"]:
            rate = "-" if p["per_thousand"] is None else f"{p['per_thousand']:.3f}"
            cum = "-" if p["cumulative_per_thousand"] is None else f"{p['cumulative_per_thousand']:.3f}"
            print(f"{p['months_in_service']:>4} {p['failures']:>9} {p['units_reached']:>10} {rate:>9} {cum:>10}")
        print(f"({view['unknown_age']} failures of unknown age)")

    asyncio.run(with_kefu(run))
    return 0


def cmd_batch_show(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            trace = await batches.batch_trace(s, args.batch)
        if args.json:
            _dump(trace)
            return
        print(f"batch {trace['batch']}: {trace['shipped']} units shipped")
        print("customers:")
        for c in trace["customers"]:
            print(f"  {c['customer']:<30} shipped {c['shipped']:>8}  complaints {c['complaints']}")
        print("shipments:")
        for sh in trace["shipments"]:
            print(f"  {sh['month']}  {sh['part_number']:<16} {sh['customer']:<30} {sh['quantity']:>8}")
        print("complaints:")
        for case in trace["complaints"]:
            print(f"  {case['reference']:<16} {case['state']:<22} {case['customer']:<20} {case['subject'][:40]}")

    asyncio.run(with_kefu(run))
    return 0


def cmd_export_field_records(args: argparse.Namespace) -> int:
    from kefu.reports.records_workbook import write_records  # openpyxl: when a file is written

    try:
        first, last = date.fromisoformat(args.first_day), date.fromisoformat(args.last_day)
    except ValueError:
        raise InvalidInput(
            "--from and --to are dates, YYYY-MM-DD", zh="--from 和 --to 须为日期，格式 YYYY-MM-DD"
        ) from None
    if last < first:
        raise InvalidInput("--to is before --from", zh="--to 早于 --from")

    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            total = await field_records.count_records(s, first, last)
            print(f"{total:,} field records from {first} to {last}", file=sys.stderr)

            def progress(n: int) -> None:
                print(f"  {n:,} of {total:,} written", file=sys.stderr, flush=True)

            written = await write_records(field_records.records(s, first, last), args.out, args.language, progress)
        print(f"{args.out}: {written:,} records")

    asyncio.run(with_kefu(run))
    return 0
