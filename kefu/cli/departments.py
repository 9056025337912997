"""`kefu department list|add|rename|disable|enable`: the console's departments page at the
server's shell, through the same service (cases/services/departments.py). A deactivation is
refused while the department still has open cases or active members."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import asdict
from typing import Any

from kefu.bootstrap import Kefu
from kefu.cli.admin import print_listing
from kefu.cli.common import cli_actor, with_kefu


def cmd_list(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> list[dict[str, Any]]:
        return [asdict(d) for d in await kefu.departments.list()]

    print_listing(
        asyncio.run(with_kefu(run)),
        args.json,
        ["CODE", "NAME_ZH", "NAME_EN", "MEMBERS", "OPEN CASES", "ACTIVE"],
        lambda d: [
            d["code"],
            d["name_zh"],
            d["name_en"],
            str(d["members"]),
            str(d["open_cases"]),
            "yes" if d["active"] else "no",
        ],
    )
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        await kefu.departments.add(cli_actor(), args.code, args.name_zh, args.name_en)

    asyncio.run(with_kefu(run))
    print(f"department {args.code} added")
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        await kefu.departments.rename(cli_actor(), args.code, args.name_zh, args.name_en)

    asyncio.run(with_kefu(run))
    print(f"department {args.code} renamed")
    return 0


def cmd_set_active(args: argparse.Namespace) -> int:
    active = args.department_command == "enable"

    async def run(kefu: Kefu) -> None:
        await kefu.departments.set_active(cli_actor(), args.code, active)

    asyncio.run(with_kefu(run))
    print(f"department {args.code} {'enabled' if active else 'disabled'}")
    return 0


def add_department_commands(sub: Any) -> None:
    dept = sub.add_parser("department", help="departments: list, add, rename, disable, enable")
    cmds = dept.add_subparsers(dest="department_command", required=True)
    lst = cmds.add_parser("list", help="code, names, active members, open cases, whether active")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(fn=cmd_list)
    for what, why, fn in (
        ("add", "add a department (code: lowercase letters and underscores)", cmd_add),
        ("rename", "set a department's Chinese and English names", cmd_rename),
    ):
        cmd = cmds.add_parser(what, help=why)
        cmd.add_argument("code")
        cmd.add_argument("name_zh")
        cmd.add_argument("name_en")
        cmd.set_defaults(fn=fn)
    for what, why in (
        ("disable", "offer the department no more (refused while it has open cases or active members)"),
        ("enable", "offer a deactivated department again"),
    ):
        cmd = cmds.add_parser(what, help=why)
        cmd.add_argument("code")
        cmd.set_defaults(fn=cmd_set_active)
