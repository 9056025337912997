"""`kefu user add` and `kefu user reset-password` in real subprocesses: no password on the
command line; without a terminal a one-time set-up link that signs the person in once."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from cases.settings import Settings
from kefu.bootstrap import bootstrap
from tests.test_cli_log import _run


def test_user_add_prints_a_one_time_set_up_link_and_reset_ends_the_password(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KEFU_DATA_DIR": str(tmp_path),
        "KEFU_SECRET_KEY": "test",
        "KEFU_LOG_LEVEL": "WARNING",
        "KEFU_PUBLIC_URL": "https://kefu.example.cn/",
    }
    assert _run(env, "db", "upgrade").returncode == 0
    refused = _run(env, "user", "add", "wang", "--role", "sales", "--password", "on the command line")
    assert refused.returncode != 0 and "--password" in refused.stderr
    added = _run(env, "user", "add", "wang", "--role", "sales")  # stdin is not a terminal here
    assert added.returncode == 0, added.stderr
    link = re.search(r"https://kefu\.example\.cn/setup/([A-Za-z0-9_-]+)", added.stdout)
    assert link, added.stdout

    kefu = bootstrap(Settings(data_dir=tmp_path, secret_key="test"))
    auth = kefu.console_auth

    async def use_it() -> tuple[bool, bool, bool]:
        try:
            token = await auth.use_setup(link.group(1), "a good password")
            signed_in = await auth.session(token) is not None
            works = (await auth.sign_in("wang", "a good password", "127.0.0.1")).token is not None
            again = await auth.setup_user(link.group(1)) is not None
            return signed_in, works, again
        finally:
            await kefu.db.dispose()

    assert asyncio.run(use_it()) == (True, True, False)

    reset = _run(env, "user", "reset-password", "wang", "--set-up-link")
    assert reset.returncode == 0 and "/setup/" in reset.stdout
    kefu = bootstrap(Settings(data_dir=tmp_path, secret_key="test"))

    async def old_password() -> bool:
        try:
            return (await kefu.console_auth.sign_in("wang", "a good password", "127.0.0.1")).token is not None
        finally:
            await kefu.db.dispose()

    assert asyncio.run(old_password()) is False
    assert _run(env, "user", "reset-password", "nobody").returncode != 0
