"""`kefu log phone ...` as staff type it, in a real subprocess against a SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from cases.store.db import Database, make_engine
from cases.store.models import Case, CaseHistory

KEFU = [sys.executable, "-m", "kefu"]


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KEFU, *args], env=env, capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[1]
    )


def test_kefu_log_phone_opens_one_case_at_the_call_time_per_form_token(tmp_path: Path) -> None:
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "KEFU_SECRET_KEY": "test", "KEFU_LOG_LEVEL": "WARNING"}
    assert _run(env, "db", "upgrade").returncode == 0
    assert _run(env, "user", "add", "wang", "--role", "sales").returncode == 0
    args = [
        "log",
        "phone",
        "--customer",
        "东风零部件",
        "--caller",
        "+86 27 8456 1234",
        "--caller-name",
        "王军",
        "--at",
        "2026-11-30 14:05",
        "--subject",
        "刹车片异响",
        "--text",
        "客户来电：装车后异响",
        "--form-token",
        "cli-1",
        "--user",
        "wang",
        "--json",
    ]
    first = _run(env, *args)
    assert first.returncode == 0, first.stderr
    again = _run(env, *args)
    one, two = json.loads(first.stdout), json.loads(again.stdout)
    assert one["created"] is True and two == {**one, "created": False}
    bad = _run(env, "log", "phone", "--caller", "12", "--subject", "x")
    assert bad.returncode == 1 and "telephone number" in bad.stderr

    async def check() -> None:
        db = Database(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'kefu.sqlite3'}"))
        try:
            async with db.reader() as s:
                case = (await s.execute(select(Case))).scalar_one()
                actors = list(
                    (await s.execute(select(CaseHistory.actor).where(CaseHistory.action == "logged"))).scalars()
                )
        finally:
            await db.dispose()
        assert case.reference == one["reference"] and case.channel == "phone"
        assert case.received_at.isoformat() == "2026-11-30T06:05:00+00:00"
        assert actors == ["wang"]

    asyncio.run(check())


def test_kefu_case_show_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    """A reader that stops early (`| head`) is no error worth a traceback."""
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "KEFU_SECRET_KEY": "test", "KEFU_LOG_LEVEL": "WARNING"}
    assert _run(env, "db", "upgrade").returncode == 0
    long_text = "客户来电：装车后异响。" * 3_000  # 99 KB: more than a pipe holds
    logged = _run(env, "log", "phone", "--customer", "东风零部件", "--subject", "异响", "--text", long_text, "--json")
    assert logged.returncode == 0, logged.stderr
    reference = json.loads(logged.stdout)["reference"]
    piped = subprocess.run(
        f"{sys.executable} -m kefu case show {reference} | head -c 100",
        shell=True,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert reference in piped.stdout
    assert "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr, piped.stderr
