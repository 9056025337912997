"""`kefu user add` and `kefu user reset-password`: a password is never a command-line argument
(it would stay in the shell's history and in `ps`). At a terminal kefu asks for it twice;
otherwise, or with --set-up-link, it prints a one-time link where the person sets it."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from cases.domain.errors import InvalidInput
from kefu.bootstrap import Kefu
from kefu.cli.common import cli_by, with_kefu


def setup_link(kefu: Kefu, token: str) -> str:
    base = kefu.settings.public_url or "http://{}:{}".format(*kefu.settings.http_listen)
    return f"{base.rstrip('/')}/setup/{token}"


def _ask_password() -> str:
    first = getpass.getpass("new password (at least 10 characters): ")
    if first != getpass.getpass("again: "):
        raise InvalidInput("the two passwords differ; nothing was changed", zh="两次输入的密码不一致；未做任何更改")
    return first


async def set_or_link(kefu: Kefu, username: str, link: bool) -> None:
    """Prompt for the password at a terminal; otherwise print a one-time set-up link."""
    if not link and sys.stdin.isatty():
        await kefu.console_auth.set_password(username, _ask_password(), by=cli_by())
        print(f"password of {username} set")
        return
    token = await kefu.console_auth.reset(username, by=cli_by())
    print(f"one-time set-up link for {username} (valid 72 hours; hand it to them, it is shown only now):")
    print(f"  {setup_link(kefu, token)}")


def cmd_user_add(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> None:
        user = await kefu.users.add(
            args.username,
            display_name=args.name or "",
            email=args.email,
            roles=args.role or [],
            department=args.department,
            language=args.language,
            by=cli_by(),
        )
        print(f"added user {user.username} (roles: {', '.join(args.role or []) or 'none'})")
        await set_or_link(kefu, user.username, args.set_up_link)

    asyncio.run(with_kefu(run))
    return 0


def cmd_user_reset_password(args: argparse.Namespace) -> int:
    """The password stops working and the person's console sessions end at once."""

    async def run(kefu: Kefu) -> None:
        await set_or_link(kefu, args.username, args.set_up_link)

    asyncio.run(with_kefu(run))
    return 0
