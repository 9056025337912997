"""`kefu`: the command line. Each subcommand is a small function over the composition root."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import sys
from collections.abc import Callable
from contextlib import nullcontext
from typing import TYPE_CHECKING

from cases.domain.errors import CaseError
from cases.settings import Settings, SettingsError
from kefu import logs
from kefu.bootstrap import Kefu
from kefu.cli.accounts import cmd_user_add, cmd_user_reset_password
from kefu.cli.admin import add_admin_commands
from kefu.cli.common import cli_actor, cli_by, settings_from_env, with_kefu
from kefu.cli.departments import add_department_commands
from kefu.cli.eightd import add_eightd_commands
from kefu.cli.entries import add_log_commands
from kefu.cli.field import add_field_commands
from kefu.cli.ops import add_ops_commands
from kefu.cli.quality import add_quality_commands
from kefu.cli.records import add_records_commands
from kefu.cli.reports import add_report_commands
from kefu.cli.search import add_search_commands

if TYPE_CHECKING:
    from kefu.parts import Part

log = logging.getLogger("kefu")

FIRST_ADMIN_ROLES = ["admin", "approver", "sales", "quality"]


def announcer(settings: Settings) -> Callable[[str], None]:
    """How `kefu serve` and `kefu db upgrade` say what they do: printed for a person, or, with
    KEFU_LOG_FORMAT=json, as log records, so that a log collector reads nothing but JSON lines."""
    if settings.log_format == "json":
        return lambda line: log.info("%s", line.removeprefix("kefu: "))
    return lambda line: print(line, flush=True)


async def _prepare(settings: Settings, quiet: bool = False) -> None:
    """Create or upgrade the schema and seed the departments of the procedure."""
    from cases.services.users import seed_departments
    from cases.store.db import Database, make_engine
    from cases.store.migrate import upgrade_async

    say = announcer(settings)
    if not quiet:
        say(f"kefu: database {_redact_url(settings.sqlalchemy_url)}: upgrading schema ...")
    await upgrade_async(settings.sqlalchemy_url)
    db = Database(make_engine(settings.sqlalchemy_url, sqlite_busy_seconds=settings.sqlite_busy_seconds))
    try:
        added = await seed_departments(db)
    finally:
        await db.dispose()
    if not quiet:
        say(f"kefu: schema up to date; {added} department(s) added")


def _redact_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


async def _first_admin(settings: Settings) -> None:
    """On a fresh database, make the first admin and say how to log in; otherwise say how to get a token."""
    from cases.domain.clock import utcnow
    from cases.services.passwords import Passwords
    from cases.services.users import Users
    from cases.store.db import Database, make_engine

    say = announcer(settings)
    db = Database(make_engine(settings.sqlalchemy_url, sqlite_busy_seconds=settings.sqlite_busy_seconds))
    try:
        users = Users(db, utcnow, Passwords.from_settings(settings))
        if await users.list():
            say("kefu: staff accounts exist. New API token: kefu token create USERNAME")
            return
        password = secrets.token_urlsafe(12)
        await users.add("admin", display_name="Administrator", roles=FIRST_ADMIN_ROLES, password=password)
        token = await users.create_token("admin", "first start")
        say("kefu: created the first staff account (shown once, keep it safe):")
        say(f"  user: admin   password: {password}   roles: {', '.join(FIRST_ADMIN_ROLES)}")
        say(f"  API token: {token.token}")
        say(
            f"  try: curl -H 'Authorization: Bearer {token.token}' "
            f"http://{settings.http_listen[0]}:{settings.http_listen[1]}/api/v1/cases"
        )
    finally:
        await db.dispose()


def cmd_serve(args: argparse.Namespace) -> int:
    from kefu.backup import serving, sqlite_file
    from kefu.parts import ALL, parse_parts

    try:
        parts = parse_parts(args.only) if args.only else ALL
    except ValueError as exc:
        raise SettingsError(f"--only: {exc}") from None
    settings = settings_from_env()
    database = sqlite_file(settings.sqlalchemy_url)
    # Held while kefu serves: `kefu restore` refuses to write under a running kefu (kefu/backup.py).
    with serving(database) if database is not None else nullcontext():
        return _serve(settings, parts)


def _serve(settings: Settings, parts: frozenset[Part]) -> int:
    from kefu.parts import ALL, serve

    asyncio.run(_prepare(settings))
    asyncio.run(_first_admin(settings))
    s = settings
    say = announcer(s)
    say(
        f"kefu: SMTP intake on {s.smtp_listen[0]}:{s.smtp_listen[1]} for "
        f"{s.service_local_part}@{{{', '.join(s.mail_domains)}}}",
    )
    say(
        f"kefu: HTTP API on http://{s.http_listen[0]}:{s.http_listen[1]}/api/v1 (OpenAPI: /api/v1/openapi.json)",
    )
    say(f"kefu: staff console on http://{s.http_listen[0]}:{s.http_listen[1]}/ (docs/console.md)")
    say(
        "kefu: outgoing mail "
        + (
            f"via relay {_redact_url(s.outgoing_smtp)}"
            if s.outgoing_smtp and "://" in s.outgoing_smtp
            else f"written to {s.outgoing_folder}/ (set KEFU_OUTGOING_SMTP for a relay)"
        ),
    )
    from intake.imap_config import imap_config

    imap = imap_config(s)  # a bad KEFU_IMAP_URL stops here, before anything runs
    say(
        f"kefu: IMAP mailbox {imap.label} ({'moved to ' + imap.move_to if imap.move_to else 'flagged'} after import)"
        if imap
        else "kefu: IMAP mailbox off (no KEFU_IMAP_URL)",
    )
    say(
        "kefu: Telegram bot "
        + (
            f"on ({'webhook ' + s.telegram_webhook_url if s.telegram_webhook_url else 'long polling'}; "
            f"Bot API {s.telegram_api_url})"
            if s.telegram_token
            else "off (no KEFU_TELEGRAM_TOKEN)"
        ),
    )
    if parts != ALL:
        say(f"kefu: running only {', '.join(sorted(parts))}")
    asyncio.run(serve(settings, parts))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    asyncio.run(_prepare(settings_from_env()))
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        created = await kefu.users.create_token(args.username, args.name, by=cli_by())
        print(created.token)

    asyncio.run(with_kefu(run))
    return 0


def cmd_case_list(args: argparse.Namespace) -> int:
    from datetime import datetime

    from cases.domain.enums import CaseState
    from cases.queries.case_views import EVERYTHING, CaseFilter, list_cases

    try:
        state = CaseState(args.state) if args.state else None
    except ValueError:
        raise SettingsError(f"unknown state {args.state!r}; one of: {', '.join(CaseState)}") from None

    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            page = await list_cases(s, EVERYTHING, CaseFilter(state=state, limit=args.limit, q=args.search))
        if args.json:
            print(json.dumps(page, ensure_ascii=False, indent=2, default=str))
            return
        tz = kefu.settings.tz
        print(f"{'REFERENCE':<16} {'STATE':<22} {'RECEIVED':<17} {'CHANNEL':<8} SUBJECT")
        for item in page["items"]:
            received = datetime.fromisoformat(item["received_at"].replace("Z", "+00:00")).astimezone(tz)
            print(
                f"{item['reference']:<16} {item['state']:<22} {received:%Y-%m-%d %H:%M}  {item['channel']:<8} {item['subject'][:60]}"
            )
        print(f"({len(page['items'])} of {page['total']})")

    asyncio.run(with_kefu(run))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """What is waiting, read from the database (GET /health shows it too, with the channels)."""
    from cases.queries.operations import backlog

    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            waiting = await backlog(s, kefu.clock())
        if args.json:
            print(json.dumps(waiting, indent=2))
            return
        oldest = waiting["oldest_pending_seconds"]
        since = f", the oldest for {_duration(oldest)}" if oldest is not None else ""
        print(
            f"inbound mail  {waiting['inbound_pending']} not yet processed{since}; "
            f"{waiting['inbound_quarantined']} quarantined (GET /api/v1/inbound?status=quarantined)"
        )
        print(f"notices       {waiting['notices_pending']} to send; {waiting['notices_dead']} given up on")

    asyncio.run(with_kefu(run))
    return 0


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def cmd_case_show(args: argparse.Namespace) -> int:
    from cases.queries.case_views import EVERYTHING, case_detail

    async def run(kefu: Kefu) -> None:
        async with kefu.db.reader() as s:
            case = await case_detail(s, EVERYTHING, args.reference, cli_actor())
        print(json.dumps(case, ensure_ascii=False, indent=2, default=str))

    asyncio.run(with_kefu(run))
    return 0


SECRET_SETTINGS = frozenset({"secret_key", "imap_password", "telegram_token", "telegram_webhook_secret"})


def cmd_settings(args: argparse.Namespace) -> int:
    """Every setting with the value this environment gives it (secrets hidden), or the table
    of docs/settings.md."""
    from dataclasses import fields

    from cases.settings import env_name, settings_table

    if args.markdown:
        print(settings_table(), end="")
        return 0
    settings = Settings.from_env()
    for f in fields(settings):
        value = getattr(settings, f.name)
        if f.name in SECRET_SETTINGS and value:
            value = "(set, hidden)"
        elif f.name == "database_url" and value:
            value = _redact_url(value)
        print(f"{env_name(f.name):<40} {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kefu", description="kefu 客服: service cases for automotive suppliers")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="upgrade the database and run SMTP intake, the API and the workers")
    serve.add_argument(
        "--only",
        metavar="PARTS",
        help="run only these parts, comma-separated: workers, imap, telegram, web, smtp "
        "(e.g. --only web for another web process beside a full one)",
    )
    serve.set_defaults(fn=cmd_serve)
    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="create or upgrade the schema, seed departments").set_defaults(fn=cmd_db_upgrade)
    user = sub.add_parser("user", help="staff accounts").add_subparsers(dest="user_command", required=True)
    add = user.add_parser("add", help="add a staff account")
    add.add_argument("username")
    add.add_argument("--name", help="display name")
    add.add_argument("--email", help="where staff notices go")
    add.add_argument("--role", action="append", help="approver, department, quality, sales, admin (repeat)")
    add.add_argument(
        "--department", help="sales, quality, production_equipment, technical_development, general_management"
    )
    add.add_argument("--language", default="zh", choices=["zh", "en"])
    add.add_argument(
        "--set-up-link",
        action="store_true",
        help="print a one-time link to set the console password (the default when not at a terminal; at a "
        "terminal kefu asks for it)",
    )
    add.set_defaults(fn=cmd_user_add)
    reset = user.add_parser(
        "reset-password", help="end a user's console sessions and set a new password (asked, or by a set-up link)"
    )
    reset.add_argument("username")
    reset.add_argument("--set-up-link", action="store_true", help="print a one-time set-up link instead of asking")
    reset.set_defaults(fn=cmd_user_reset_password)
    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="make a bearer token for a user (printed once)")
    create.add_argument("username")
    create.add_argument("--name", default="cli", help="a label for the token")
    create.set_defaults(fn=cmd_token_create)
    add_admin_commands(user, token)  # kefu user list|disable|enable|history, kefu token list|revoke
    add_department_commands(sub)  # kefu department list|add|rename|disable|enable
    shown = sub.add_parser("settings", help="every setting and the value it has here (secrets hidden)")
    shown.add_argument("--markdown", action="store_true", help="the table of docs/settings.md instead")
    shown.set_defaults(fn=cmd_settings)
    status = sub.add_parser("status", help="what is waiting: mail not yet processed, the quarantine, notices")
    status.add_argument("--json", action="store_true")
    status.set_defaults(fn=cmd_status)
    case = sub.add_parser("case", help="cases").add_subparsers(dest="case_command", required=True)
    lst = case.add_parser("list", help="list cases, newest first")
    lst.add_argument("--state")
    lst.add_argument("--limit", type=int, default=50)
    lst.add_argument("--search", help="words to find, Chinese or English (as GET /api/v1/cases?q=)")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(fn=cmd_case_list)
    show = case.add_parser("show", help="one case with its conversation and history (JSON)")
    show.add_argument("reference")
    show.set_defaults(fn=cmd_case_show)
    add_log_commands(sub)  # kefu log phone|letter|visit|survey
    add_ops_commands(sub)  # kefu backup PATH, kefu restore PATH
    add_quality_commands(sub)  # kefu calendar show|set|unset, kefu overdue, kefu service-report
    add_eightd_commands(sub)  # kefu 8d show|document
    add_records_commands(sub)  # kefu records classes|set|customer|hold|release|purge|log
    add_report_commands(sub)  # kefu report quarterly|service|review|list|get
    add_field_commands(sub)  # kefu import shipments, kefu warnings ..., kefu batch show
    add_search_commands(sub)  # kefu search reindex
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"kefu: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, fmt=settings.log_format)
    try:
        return int(args.fn(args) or 0)
    except (CaseError, SettingsError) as exc:
        print(f"kefu: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`kefu case show ... | head`): nothing more to say, and Python
        # must not complain while flushing stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
