"""`kefu user list|disable|enable|history` and `kefu token list|revoke`: the admin's console
pages at the server's shell, through the same service functions (cases/services/users.py). A
token's secret is printed once by `kefu token create`; `token list` shows its number, never the
secret. Every change is in the account trail as "cli:<login>" (`kefu user history`)."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kefu.bootstrap import Kefu
from kefu.cli.common import cli_by, with_kefu


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def print_listing(
    items: list[dict[str, Any]], as_json: bool, header: list[str], row: Callable[[dict[str, Any]], list[str]]
) -> None:
    """What a `list` command prints: with --json the items, else a table, one row an item."""
    if as_json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
    else:
        print_table([header, *(row(item) for item in items)])


def cmd_user_list(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> list[dict[str, Any]]:
        return [
            {
                "username": u.username,
                "name": u.display_name,
                "roles": sorted(u.role_names),
                "department": u.department.code if u.department else None,
                "email": u.email,
                "active": u.active,
            }
            for u in await kefu.users.list()
        ]

    print_listing(
        asyncio.run(with_kefu(run)),
        args.json,
        ["USERNAME", "NAME", "ROLES", "DEPARTMENT", "EMAIL", "ACTIVE"],
        lambda u: [
            u["username"],
            u["name"],
            ",".join(u["roles"]) or "-",
            u["department"] or "-",
            u["email"] or "-",
            "yes" if u["active"] else "no",
        ],
    )
    return 0


def cmd_user_set_active(args: argparse.Namespace) -> int:
    """Disable: the person's console sessions end and their API tokens answer 401 at once."""
    active = args.user_command == "enable"

    async def run(kefu: Kefu) -> None:
        await kefu.users.set_active(args.username, active, by=cli_by())

    asyncio.run(with_kefu(run))
    print(f"user {args.username} {'enabled' if active else 'disabled'}")
    return 0


def cmd_user_history(args: argparse.Namespace) -> int:
    """The account trail, newest first: every account's latest, or one account's."""

    async def run(kefu: Kefu) -> list[dict[str, Any]]:
        return [
            {
                "at": _iso(e.at),
                "by": e.actor,
                "action": e.action.value,
                "username": e.username,
                "detail": e.detail,
            }
            for e in await kefu.account_trail.latest(args.username, args.limit)
        ]

    print_listing(
        asyncio.run(with_kefu(run)),
        args.json,
        ["WHEN", "BY", "WHAT", "USER", "DETAIL"],
        lambda e: [e["at"] or "-", e["by"], e["action"], e["username"], e["detail"] or "-"],
    )
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> list[dict[str, Any]]:
        return [
            {
                "id": t.id,
                "username": t.username,
                "name": t.name,
                "created_at": _iso(t.created_at),
                "last_used_at": _iso(t.last_used_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in await kefu.users.tokens()
            if args.all or t.revoked_at is None
        ]

    print_listing(
        asyncio.run(with_kefu(run)),
        args.json,
        ["ID", "USER", "NAME", "CREATED", "LAST USED", "REVOKED"],
        lambda t: [
            str(t["id"]),
            t["username"],
            t["name"],
            t["created_at"] or "-",
            t["last_used_at"] or "-",
            t["revoked_at"] or "-",
        ],
    )
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> str:
        return (await kefu.users.revoke_token(args.id, by=cli_by())).username

    username = asyncio.run(with_kefu(run))
    print(f"token #{args.id} of {username} revoked")
    return 0


def add_admin_commands(user: Any, token: Any) -> None:
    """Beside `user add|reset-password` and `token create` (kefu/cli/main.py)."""
    lst = user.add_parser("list", help="the staff accounts with roles, department and whether active")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(fn=cmd_user_list)
    for what, why in (
        ("disable", "end a user's console sessions and stop their API tokens at once"),
        ("enable", "let a disabled user sign in again (their unrevoked tokens work again)"),
    ):
        cmd = user.add_parser(what, help=why)
        cmd.add_argument("username")
        cmd.set_defaults(fn=cmd_user_set_active)
    history = user.add_parser("history", help="who changed which account, when, what (newest first)")
    history.add_argument("username", nargs="?", help="one account's changes (default: every account's)")
    history.add_argument("--limit", type=int, default=50)
    history.add_argument("--json", action="store_true")
    history.set_defaults(fn=cmd_user_history)
    tokens = token.add_parser("list", help="API tokens: number, user, label, dates (never the secret)")
    tokens.add_argument("--all", action="store_true", help="revoked tokens too")
    tokens.add_argument("--json", action="store_true")
    tokens.set_defaults(fn=cmd_token_list)
    revoke = token.add_parser("revoke", help="revoke an API token by its number (see kefu token list)")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(fn=cmd_token_revoke)
