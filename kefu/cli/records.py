"""`kefu records ...`: retention per record class, legal holds and the purge (docs/records.md).
A purge is a dry run unless `--yes` is given: it first says what it would remove."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from cases.domain.retention import RecordKind
from cases.services import retention
from kefu.bootstrap import Kefu
from kefu.cli.common import cli_actor, with_kefu


def add_records_commands(sub: Any) -> None:
    records = sub.add_parser("records", help="record control: retention, legal hold, purge (docs/records.md)")
    what = records.add_subparsers(dest="records_command", required=True)
    what.add_parser("classes", help="the record classes and how long each is kept").set_defaults(fn=cmd_classes)
    put = what.add_parser("set", help="keep a record class this many days")
    put.add_argument("kind", choices=[k.value for k in RecordKind])
    put.add_argument("days", type=int)
    put.set_defaults(fn=cmd_set)
    customer = what.add_parser("customer", help="keep one customer's cases longer ('default': the class's period)")
    customer.add_argument("customer_id", type=int)
    customer.add_argument("days", help="a number of days, or 'default'")
    customer.set_defaults(fn=cmd_customer)
    hold = what.add_parser("hold", help="put a case under legal hold: no purge touches it")
    hold.add_argument("reference")
    hold.add_argument("--reason", required=True)
    hold.set_defaults(fn=cmd_hold)
    lift = what.add_parser("release", help="lift a case's legal hold")
    lift.add_argument("reference")
    lift.set_defaults(fn=cmd_release)
    purge = what.add_parser("purge", help="remove personal data past retention (a dry run without --yes)")
    purge.add_argument("--yes", action="store_true", help="do it; without this only the plan is printed")
    purge.set_defaults(fn=cmd_purge)
    what.add_parser("log", help="the purges done so far").set_defaults(fn=cmd_log)


def cmd_classes(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            for kind, days in (await retention.retention_days(s)).items():
                print(f"{kind:<14} {days:>6} days")

    asyncio.run(with_kefu(run))
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.unit_of_work() as s:
            await retention.set_retention(s, cli_actor(), args.kind, args.days, kefu.clock())
        print(f"{args.kind}: kept {args.days} days")

    asyncio.run(with_kefu(run))
    return 0


def cmd_customer(args: argparse.Namespace) -> int:
    days = None if args.days == "default" else _int(args.days)

    async def run(kefu: Kefu) -> None:
        async with kefu.db.unit_of_work() as s:
            await retention.set_customer_retention(s, cli_actor(), args.customer_id, days)
        print(f"customer {args.customer_id}: " + ("the class's period" if days is None else f"kept {days} days"))

    asyncio.run(with_kefu(run))
    return 0


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SystemExit(f"kefu: days must be a number or 'default', not {text!r}") from None


def cmd_hold(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.unit_of_work() as s:
            case = await retention.set_legal_hold(s, cli_actor(), args.reference, args.reason, kefu.clock())
        print(f"{case.reference}: under legal hold ({args.reason})")

    asyncio.run(with_kefu(run))
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.unit_of_work() as s:
            case = await retention.set_legal_hold(s, cli_actor(), args.reference, None, kefu.clock())
        print(f"{case.reference}: legal hold lifted")

    asyncio.run(with_kefu(run))
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        folder = kefu.settings.outgoing_folder
        async with kefu.db.reader() as s:
            todo = await retention.plan(s, kefu.clock(), folder)
        days = todo.retention_days
        print(
            f"retention: cases {days['case']} days, raw mail {days['raw_mail']}, outgoing mail {days['outgoing_mail']}"
        )
        print(
            f"closed cases past retention: {len(todo.cases)}"
            + (f" ({', '.join(todo.cases[:10])}…)" if todo.cases else "")
        )
        if todo.held:
            print(f"kept under legal hold: {len(todo.held)} ({', '.join(todo.held[:10])})")
        print(f"raw mail of no case past retention: {todo.raw_mail}")
        print(f"outgoing mail files past retention: {len(todo.outgoing_files)} in {folder}")
        if not args.yes:
            print("dry run: nothing removed; run `kefu records purge --yes` to remove it")
            return

        def progress(done: int, total: int) -> None:
            print(f"\rpurging cases: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

        result = await retention.purge(kefu.db, cli_actor(), kefu.clock(), folder, progress)
        print("purged: " + ", ".join(f"{what} {n}" for what, n in sorted(result.counts.items())))

    asyncio.run(with_kefu(run))
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            done = await retention.purges(s)
        for item in done:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(item["counts"].items()) if v)
            print(f"{item['at']}  {item['actor']:<12} {len(item['cases'])} cases  {counts}")
        if not done:
            print("no purge yet")

    asyncio.run(with_kefu(run))
    return 0
