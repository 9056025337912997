"""`kefu backup PATH` and `kefu restore PATH` (kefu/backup.py does the work).

    kefu backup /srv/backup/kefu-2026-12-05.sqlite3      # while kefu serves
    systemctl stop kefu && kefu restore /srv/backup/kefu-2026-12-05.sqlite3 --replace && systemctl start kefu

On PostgreSQL both print the pg_dump / pg_restore command to run instead and exit with 2:
nothing was copied, and a script that checks the exit status must not think otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kefu.backup import backup_sqlite, pg_commands, restore_sqlite, sqlite_file
from kefu.cli.common import settings_from_env

NOT_SQLITE = 2


class _Progress:
    """`kefu: backup: 40% (2048 of 5120 pages)`, a line each tenth of the way and at the end."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.told = -1

    def __call__(self, copied: int, total: int) -> None:
        percent = 100 * copied // total if total else 100
        if percent // 10 > self.told or copied == total:
            self.told = percent // 10
            print(f"kefu: {self.verb}: {percent}% ({copied} of {total} pages)", flush=True)


def _postgresql(url: str, path: str, which: int, note: str) -> int:
    print(
        f"kefu: {'backup' if which == 0 else 'restore'} copies SQLite databases only; for PostgreSQL run:\n"
        f"  {pg_commands(url, path)[which]}\n"
        f"kefu: {note} (docs/operating.md, 'Backup and restore'); nothing was copied",
        file=sys.stderr,
    )
    return NOT_SQLITE


def cmd_backup(args: argparse.Namespace) -> int:
    settings = settings_from_env()
    database = sqlite_file(settings.sqlalchemy_url)
    if database is None:
        return _postgresql(settings.sqlalchemy_url, args.path, 0, "it can run while kefu serves")
    target = Path(args.path)
    print(f"kefu: backing up {database} to {target} (kefu may keep running)", flush=True)
    revision = backup_sqlite(database, target, _Progress("backup"), replace=args.replace)
    print(f"kefu: backup written to {target} (schema {revision}, checked); restore it with: kefu restore {target}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    settings = settings_from_env()
    database = sqlite_file(settings.sqlalchemy_url)
    if database is None:
        return _postgresql(settings.sqlalchemy_url, args.path, 1, "stop every kefu first")
    backup = Path(args.path)
    print(f"kefu: restoring {backup} into {database} (kefu must not be running)", flush=True)
    revision = restore_sqlite(backup, database, _Progress("restore"), replace=args.replace)
    print(f"kefu: restored {database} from {backup} (schema {revision}); `kefu serve` upgrades it on start if older")
    return 0


def add_ops_commands(sub: Any) -> None:
    backup = sub.add_parser("backup", help="copy the SQLite database to PATH, online (kefu may keep running)")
    backup.add_argument("path", metavar="PATH")
    backup.add_argument("--replace", action="store_true", help="overwrite PATH if it exists")
    backup.set_defaults(fn=cmd_backup)
    restore = sub.add_parser(
        "restore", help="write the backup at PATH into the configured SQLite database (kefu stopped)"
    )
    restore.add_argument("path", metavar="PATH")
    restore.add_argument(
        "--replace", action="store_true", help="replace an existing database (every case in it) with the backup"
    )
    restore.set_defaults(fn=cmd_restore)
