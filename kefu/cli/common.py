"""What the subcommands share: the settings from the environment, a built kefu to work on."""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable
from typing import TypeVar

from cases.domain.actors import Actor
from cases.domain.enums import Role
from cases.settings import Settings
from kefu.bootstrap import Kefu, bootstrap

T = TypeVar("T")

CLI_ACTOR_LABEL = "cli"  # the operator at the server's console sees every case


def settings_from_env() -> Settings:
    return Settings.from_env().with_secret()


async def with_kefu(fn: Callable[[Kefu], Awaitable[T]]) -> T:
    """Build kefu (nothing started), run `fn` on it, release the database."""
    kefu = bootstrap(settings_from_env())
    try:
        return await fn(kefu)
    finally:
        await kefu.db.dispose()


def cli_actor() -> Actor:
    return Actor(label=CLI_ACTOR_LABEL, roles=frozenset({Role.ADMIN}))


def cli_by() -> str:
    """Who acts at the server's shell, for the account trail: "cli:" and the login name."""
    try:
        login = getpass.getuser()
    except (OSError, KeyError):  # no USER/LOGNAME and no passwd entry (a bare container)
        login = "?"
    return f"{CLI_ACTOR_LABEL}:{login}"
