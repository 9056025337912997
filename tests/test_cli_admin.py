"""`kefu user list|disable|enable` and `kefu token list|revoke` in real subprocesses: the same
service functions as the console's admin pages; a token's secret is never listed."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from cases.domain.actors import Actor
from cases.settings import Settings
from kefu.bootstrap import bootstrap
from tests.test_cli_log import _run


def _token_user(tmp_path: Path, token: str) -> Actor | None:
    """Whom the API would take the token for (None: it answers 401)."""
    kefu = bootstrap(Settings(data_dir=tmp_path, secret_key="test"))

    async def check() -> Actor | None:
        try:
            return await kefu.users.authenticate_token(token)
        finally:
            await kefu.db.dispose()

    return asyncio.run(check())


def test_user_list_disable_and_enable(tmp_path: Path) -> None:
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "KEFU_SECRET_KEY": "test", "KEFU_LOG_LEVEL": "WARNING"}
    assert _run(env, "db", "upgrade").returncode == 0
    added = _run(env, "user", "add", "wang", "--name", "王工", "--role", "department", "--department", "quality")
    assert added.returncode == 0, added.stderr
    assert _run(env, "user", "add", "root", "--role", "admin").returncode == 0
    token = _run(env, "token", "create", "wang").stdout.strip()
    assert _token_user(tmp_path, token) is not None

    listed = _run(env, "user", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(row for row in listed.stdout.splitlines() if row.startswith("wang "))
    assert "王工" in line and "department" in line and "quality" in line and line.rstrip().endswith("yes")

    disabled = _run(env, "user", "disable", "wang")
    assert disabled.returncode == 0 and "disabled" in disabled.stdout
    users = {u["username"]: u for u in json.loads(_run(env, "user", "list", "--json").stdout)}
    assert users["wang"]["active"] is False and users["root"]["active"] is True
    assert _token_user(tmp_path, token) is None  # the API answers 401 from now on

    assert _run(env, "user", "enable", "wang").returncode == 0
    assert _token_user(tmp_path, token) is not None
    # the account trail names the shell's login as the one who acted
    history = json.loads(_run(env, "user", "history", "wang", "--json").stdout)
    assert [(e["action"], e["username"]) for e in history] == [
        ("enabled", "wang"),
        ("disabled", "wang"),
        ("token_created", "wang"),
        ("password_reset", "wang"),  # `user add` away from a terminal makes a set-up link
        ("user_added", "wang"),
    ]
    assert all(e["by"].startswith("cli:") for e in history)
    assert token not in json.dumps(history)

    unknown = _run(env, "user", "disable", "nobody")
    assert unknown.returncode == 1 and "nobody" in unknown.stderr
    last = _run(env, "user", "disable", "root")  # the only admin
    assert last.returncode == 1 and "last active admin" in last.stderr


def test_token_list_shows_no_secret_and_revoke_stops_the_token(tmp_path: Path) -> None:
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "KEFU_SECRET_KEY": "test", "KEFU_LOG_LEVEL": "WARNING"}
    assert _run(env, "db", "upgrade").returncode == 0
    assert _run(env, "user", "add", "wang", "--role", "sales").returncode == 0
    first = _run(env, "token", "create", "wang", "--name", "erp").stdout.strip()
    second = _run(env, "token", "create", "wang", "--name", "bi").stdout.strip()

    listed = _run(env, "token", "list")
    assert listed.returncode == 0, listed.stderr
    assert first not in listed.stdout and second not in listed.stdout
    tokens = {t["name"]: t for t in json.loads(_run(env, "token", "list", "--json").stdout)}
    assert set(tokens) == {"erp", "bi"} and tokens["erp"]["username"] == "wang"
    assert first not in json.dumps(tokens)

    revoked = _run(env, "token", "revoke", str(tokens["erp"]["id"]))
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert _token_user(tmp_path, first) is None
    assert _token_user(tmp_path, second) is not None
    still = {t["name"] for t in json.loads(_run(env, "token", "list", "--json").stdout)}
    assert still == {"bi"}
    every = {t["name"]: t for t in json.loads(_run(env, "token", "list", "--all", "--json").stdout)}
    assert every["erp"]["revoked_at"] is not None

    missing = _run(env, "token", "revoke", "999")
    assert missing.returncode == 1 and "999" in missing.stderr


def test_department_add_rename_disable_enable_and_a_new_department_for_a_user(tmp_path: Path) -> None:
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "KEFU_SECRET_KEY": "test", "KEFU_LOG_LEVEL": "WARNING"}
    assert _run(env, "db", "upgrade").returncode == 0
    added = _run(env, "department", "add", "after_sales", "售后部", "After-sales")
    assert added.returncode == 0, added.stderr
    user = _run(env, "user", "add", "li", "--role", "department", "--department", "after_sales")
    assert user.returncode == 0, user.stderr

    refused = _run(env, "department", "disable", "after_sales")  # li is an active member
    assert refused.returncode == 1 and "1 active member" in refused.stderr
    assert _run(env, "department", "rename", "after_sales", "售后服务部", "After Sales").returncode == 0
    assert _run(env, "department", "disable", "general_management").returncode == 0
    listed = {d["code"]: d for d in json.loads(_run(env, "department", "list", "--json").stdout)}
    assert listed["after_sales"] == {
        "code": "after_sales",
        "name_zh": "售后服务部",
        "name_en": "After Sales",
        "active": True,
        "members": 1,
        "open_cases": 0,
    }
    assert listed["general_management"]["active"] is False
