"""`kefu backup` / `kefu restore` (issue 17, item 12), in real processes: cases made, backed up,
the database wiped, restored, and `kefu case list` shows them again; a restore under a running
`kefu serve` is refused; the copy is one instant of a database that is written meanwhile; and
for PostgreSQL the commands kefu prints do the same job."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from cases.settings import Settings
from kefu.backup import BackupError, backup_sqlite, pg_commands, restore_sqlite
from kefu.bootstrap import Kefu
from tests.apihelpers import open_case
from tests.test_crash import _start


def _env(settings: Settings, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "KEFU_DATA_DIR": str(settings.data_dir),
        "KEFU_DATABASE_URL": settings.sqlalchemy_url,
        "KEFU_SECRET_KEY": "backup-test",
        "KEFU_MAIL_DOMAINS": "kefu.example",
        "KEFU_LOG_LEVEL": "WARNING",
        **more,
    }


def _kefu(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kefu", *args], env=env, capture_output=True, text=True, timeout=120)


def _sqlite_only(settings: Settings) -> Path:
    if not settings.sqlalchemy_url.startswith("sqlite"):
        pytest.skip("kefu backup copies SQLite; PostgreSQL has its own test below")
    return Path(settings.sqlalchemy_url.removeprefix("sqlite+aiosqlite:///"))


def _wipe(database: Path) -> None:
    for side in ("", "-wal", "-shm"):
        database.with_name(database.name + side).unlink(missing_ok=True)


async def _two_cases(kefu: Kefu) -> list[str]:
    references = [await open_case(kefu, "刹车片异响"), await open_case(kefu, "密封圈漏油", sender="li.na@faw-parts.cn")]
    await kefu.db.dispose()
    return references


async def test_a_backup_restored_into_a_wiped_database_lists_the_cases(
    kefu: Kefu, settings: Settings, tmp_path: Path
) -> None:
    database = _sqlite_only(settings)
    references = await _two_cases(kefu)
    env = _env(settings)
    target = tmp_path / "backups" / "kefu-backup.sqlite3"
    target.parent.mkdir()

    done = _kefu(env, "backup", str(target))
    assert done.returncode == 0, done.stderr
    assert re.search(r"kefu: backup: 100% \(\d+ of \d+ pages\)", done.stdout), done.stdout
    assert target.is_file() and not target.with_name(target.name + "-wal").exists()  # one file
    again = _kefu(env, "backup", str(target))
    assert again.returncode == 1 and "--replace" in again.stderr  # a backup is never overwritten unasked

    _wipe(database)
    done = _kefu(env, "restore", str(target))
    assert done.returncode == 0, done.stderr
    assert "restored" in done.stdout and "100%" in done.stdout
    listing = _kefu(env, "case", "list")
    assert listing.returncode == 0, listing.stderr
    for reference in references:
        assert reference in listing.stdout
    assert "(2 of 2)" in listing.stdout

    refused = _kefu(env, "restore", str(target))  # over a database that is there: only when told
    assert refused.returncode == 1 and "--replace" in refused.stderr
    assert _kefu(env, "restore", "--replace", str(target)).returncode == 0


@pytest.mark.slow
async def test_a_restore_under_a_running_kefu_is_refused(kefu: Kefu, settings: Settings, tmp_path: Path) -> None:
    database = _sqlite_only(settings)
    await _two_cases(kefu)
    target = tmp_path / "copy.sqlite3"
    backup_sqlite(database, target, lambda copied, total: None)
    log = tmp_path / "serve.log"
    proc, served = _start(settings, log)
    env = _env(served)
    try:
        refused = _kefu(env, "restore", "--replace", str(target))
        assert refused.returncode == 1
        assert "kefu is running" in refused.stderr and "stop it first" in refused.stderr
        online = _kefu(env, "backup", str(tmp_path / "online.sqlite3"))  # a backup needs no stop
        assert online.returncode == 0, online.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    done = _kefu(env, "restore", "--replace", str(target))
    assert done.returncode == 0, done.stderr


async def test_the_copy_is_one_instant_of_a_database_written_meanwhile(
    kefu: Kefu, settings: Settings, tmp_path: Path
) -> None:
    database = _sqlite_only(settings)
    await _two_cases(kefu)
    with sqlite3.connect(database) as writer:
        writer.execute("CREATE TABLE filler (data BLOB)")
        writer.executemany("INSERT INTO filler VALUES (?)", [(os.urandom(2000),)] * 5000)  # ~2,500 pages
    steps: list[tuple[int, int]] = []

    def written_meanwhile(copied: int, total: int) -> None:
        steps.append((copied, total))
        with sqlite3.connect(database) as other:  # kefu writing while the backup runs
            other.execute("INSERT INTO filler VALUES (x'00')")

    target = tmp_path / "copy.sqlite3"
    backup_sqlite(database, target, written_meanwhile)
    assert len(steps) >= 2 and steps[-1][0] == steps[-1][1]  # told step by step, to the end
    with sqlite3.connect(target) as copy, sqlite3.connect(database) as live:
        assert copy.execute("SELECT count(*) FROM filler").fetchone() == (5000,)
        assert live.execute("SELECT count(*) FROM filler").fetchone() == (5000 + len(steps),)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)


async def test_what_is_not_a_kefu_database_is_never_restored(kefu: Kefu, settings: Settings, tmp_path: Path) -> None:
    database = _sqlite_only(settings)
    await kefu.db.dispose()
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(BackupError, match="not a kefu database"):
        restore_sqlite(junk, database, lambda c, t: None, replace=True)
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (text)")
    with pytest.raises(BackupError, match="not a kefu database"):
        restore_sqlite(other, database, lambda c, t: None, replace=True)
    with pytest.raises(BackupError, match="no backup"):
        restore_sqlite(tmp_path / "missing", database, lambda c, t: None)
    with pytest.raises(BackupError, match="no database"):
        backup_sqlite(tmp_path / "missing.sqlite3", tmp_path / "x", lambda c, t: None)


def test_postgresql_is_told_the_commands_and_nothing_is_copied(settings: Settings, tmp_path: Path) -> None:
    url = "postgresql+asyncpg://kefu:s3cret@db.internal:5432/kefu"
    done = _kefu(_env(replace(settings, database_url=url)), "backup", str(tmp_path / "kefu.dump"))
    assert done.returncode == 2
    assert (
        "pg_dump --format=custom --no-owner" in done.stderr and "postgresql://kefu@db.internal:5432/kefu" in done.stderr
    )
    assert "s3cret" not in done.stderr + done.stdout  # the password comes from PGPASSWORD or ~/.pgpass
    done = _kefu(_env(replace(settings, database_url=url)), "restore", str(tmp_path / "kefu.dump"))
    assert done.returncode == 2 and "pg_restore --clean --if-exists" in done.stderr


async def test_the_printed_postgresql_commands_back_up_and_restore(
    kefu: Kefu, settings: Settings, tmp_path: Path
) -> None:
    if not settings.sqlalchemy_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL commands, on PostgreSQL")
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are not installed (Debian: postgresql-client)")
    references = await _two_cases(kefu)
    dump, restore = pg_commands(settings.sqlalchemy_url, str(tmp_path / "kefu.dump"))
    done = subprocess.run(dump, shell=True, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    env = _env(settings)
    wiped = subprocess.run(
        ["psql", "-v", "ON_ERROR_STOP=1", "-c", "DROP SCHEMA public CASCADE; CREATE SCHEMA public",
         settings.sqlalchemy_url.replace("+asyncpg", "")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert wiped.returncode == 0, wiped.stderr
    assert _kefu(env, "case", "list").returncode != 0  # nothing there any more
    done = subprocess.run(restore, shell=True, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    listing = _kefu(env, "case", "list")
    assert listing.returncode == 0, listing.stderr
    assert all(reference in listing.stdout for reference in references)
