"""`kefu backup` and `kefu restore`: a copy of the SQLite database, taken and put back with
SQLite's online backup API (`sqlite3.Connection.backup`), and the PostgreSQL commands.

Backup runs while kefu serves: the copy is read in one read transaction, so it is the database
as it was at one instant (WAL lets kefu write meanwhile, and the copy never starts over), made
into one self-contained file (rollback journal, no `-wal` beside it), checked
(`PRAGMA quick_check`), and only then renamed to its name: a file at PATH is a whole backup.

Restore writes into the configured database file, page by page through SQLite (never a file
copy over a live database and its `-wal`), and only while no `kefu serve` uses that database:
each `kefu serve` holds a shared lock on `<database>.lock` (flock: the kernel drops it when the
process ends, even by SIGKILL), and restore takes it exclusively or refuses. A `kefu serve`
started during a restore refuses to start.

PostgreSQL has its own tools; `pg_dump_commands` says which (docs/operating.md).
"""

from __future__ import annotations

import fcntl
import os
import shlex
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from cases.settings import SettingsError

Progress = Callable[[int, int], None]  # (pages copied, pages in all)
STEP_PAGES = 1024  # 4 MiB at SQLite's default page size: the progress is told after each step


class BackupError(SettingsError):
    """What the person running `kefu backup` or `kefu restore` must change; nothing was written."""


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError(f"{url}: an in-memory database has nothing to back up")
    return Path(parsed.database)


def lock_file(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextmanager
def serving(database: Path) -> Iterator[None]:
    """Held by `kefu serve` while it runs: a shared lock that `kefu restore` waits for no one on
    (it refuses instead). Several `kefu serve` processes on one database share it."""
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file(database), "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"kefu restore is writing {database}; start kefu again when it has finished") from None
        yield


@contextmanager
def _alone(database: Path) -> Iterator[None]:
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file(database), "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                f"kefu is running on {database} (a `kefu serve` holds {lock_file(database)}); stop it first "
                "(systemctl stop kefu), then run kefu restore again"
            ) from None
        yield


def _copy(source: sqlite3.Connection, target: sqlite3.Connection, progress: Progress) -> None:
    def told(status: int, remaining: int, total: int) -> None:
        progress(total - remaining, total)

    source.execute("BEGIN")  # one read transaction: the copy is one instant of the database
    source.execute("SELECT count(*) FROM sqlite_master").fetchone()
    try:
        source.backup(target, pages=STEP_PAGES, progress=told, sleep=0)
    finally:
        source.execute("COMMIT")


def _check(db: sqlite3.Connection, what: str) -> str:
    """`PRAGMA quick_check` passes and kefu's schema is there; returns its migration revision."""
    try:
        problems = [row[0] for row in db.execute("PRAGMA quick_check")]
        revision = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what} is not a kefu database: {exc}") from None
    if problems != ["ok"]:
        raise BackupError(f"{what} is damaged: {'; '.join(problems[:5])}")
    if revision is None:
        raise BackupError(f"{what} has no schema revision; is it a kefu database?")
    return str(revision[0])


def backup_sqlite(database: Path, target: Path, progress: Progress, *, replace: bool = False) -> str:
    """Copy the live `database` to `target`; returns the copy's schema revision."""
    if not database.is_file():
        raise BackupError(f"there is no database at {database} (KEFU_DATABASE_URL, KEFU_DATA_DIR)")
    if target.exists() and not replace:
        raise BackupError(f"{target} exists; choose another name or add --replace")
    if target.resolve() == database.resolve():
        raise BackupError(f"{target} is the database itself")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with (
        closing(sqlite3.connect(database, isolation_level=None)) as source,
        closing(sqlite3.connect(partial)) as copy,
    ):
        _copy(source, copy, progress)
        copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
        revision = _check(copy, f"the copy {partial}")
    with open(partial, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(partial, target)
    return revision


def restore_sqlite(backup: Path, database: Path, progress: Progress, *, replace: bool = False) -> str:
    """Write `backup` into `database` while no kefu serves it; returns the restored revision."""
    if not backup.is_file():
        raise BackupError(f"there is no backup at {backup}")
    with closing(sqlite3.connect(backup)) as source:
        revision = _check(source, str(backup))
    with _alone(database):
        if database.exists() and database.stat().st_size > 0 and not replace:
            raise BackupError(
                f"{database} exists; restoring replaces every case in it with the backup's. Add --replace to do that"
            )
        for side in ("-wal", "-shm", "-journal"):
            leftover = database.with_name(database.name + side)
            if leftover.exists() and not database.exists():
                raise BackupError(f"{leftover} is there without {database}; move it away first")
        with (
            closing(sqlite3.connect(backup, isolation_level=None)) as source,
            closing(sqlite3.connect(database)) as target,
        ):
            _copy(source, target, progress)
            _check(target, str(database))
    return revision


def pg_commands(url: str, path: str) -> tuple[str, str]:
    """pg_dump and pg_restore for a PostgreSQL URL (the password left out: PGPASSWORD or
    ~/.pgpass give it, so that it stays out of the shell history and the process list)."""
    given = make_url(url)
    bare = URL.create("postgresql", given.username, None, given.host, given.port, given.database, given.query)
    target = shlex.quote(bare.render_as_string(hide_password=False))
    file = shlex.quote(path)
    return (
        f"pg_dump --format=custom --no-owner --file={file} {target}",
        f"pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error --dbname={target} {file}",
    )
