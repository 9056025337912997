"""`kefu calendar ...` and `kefu overdue` as an operator types them, in a real subprocess
against a SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

KEFU = [sys.executable, "-m", "kefu"]


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KEFU, *args], env=env, capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[1]
    )


def test_the_operator_keeps_the_calendar_of_a_year_the_library_does_not_know(tmp_path: Path) -> None:
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "KEFU_SECRET_KEY": "test", "KEFU_LOG_LEVEL": "WARNING"}
    assert _run(env, "db", "upgrade").returncode == 0
    done = _run(env, "calendar", "set", "2090-10-02", "holiday", "--note", "国庆节")
    assert done.returncode == 0, done.stderr
    assert _run(env, "calendar", "set", "2090-09-30", "workday", "--note", "调休").returncode == 0
    shown = _run(env, "calendar", "show", "2090")
    assert "NOT known to the library" in shown.stdout
    assert "2090-10-02  holiday   国庆节" in shown.stdout and "2090-09-30  workday   调休" in shown.stdout
    known = _run(env, "calendar", "show", "2026")
    assert "2026-10-01  holiday   (library)" in known.stdout and "2026-10-10  workday   (library)" in known.stdout
    bad = _run(env, "calendar", "set", "2090-02-30", "holiday")
    assert bad.returncode == 1 and "calendar day" in bad.stderr
    assert _run(env, "calendar", "unset", "2090-10-02").returncode == 0
    again = _run(env, "calendar", "unset", "2090-10-02")
    assert again.returncode == 1 and "no entry" in again.stderr
    overdue = _run(env, "overdue")
    assert overdue.returncode == 0 and "(0 of 0)" in overdue.stdout
