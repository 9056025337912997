"""The migrations, on SQLite and PostgreSQL: they build exactly the schema the models describe,
and a migration that moves data keeps every byte, both ways."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, DateTime, bindparam, inspect, text

from cases.domain.departments import DEPARTMENTS
from cases.store.db import make_engine
from cases.store.migrate import alembic_config, include_name, upgrade
from cases.store.models import Base

RAW = b"From: li.na@chery-parts.cn\r\nSubject: =?utf-8?b?5ryP5rK5?=\r\n\r\n\xd7\xaa\xcf\xf2\xc6\xf7 \x00\xff" * 300


def _run(url: str, fn: Any) -> Any:
    """fn(connection) on the database, in a transaction that commits."""

    async def go() -> Any:
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_the_migrations_build_the_schema_the_models_describe(database_url: str) -> None:
    upgrade(database_url)
    differences = _run(
        database_url,
        lambda c: compare_metadata(MigrationContext.configure(c, opts={"include_name": include_name}), Base.metadata),
    )
    assert differences == []


def _columns(conn: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns(table)}


def test_0008_moves_the_raw_bytes_into_their_own_table_and_back(database_url: str) -> None:
    upgrade(database_url, "0007")

    def store(conn: Connection) -> None:
        conn.execute(
            text(
                "INSERT INTO inbound_messages (channel, dedupe_key, envelope_from, envelope_to, raw, size, received_at,"
                " status, attempts, rule_hits) VALUES ('email', :key, '', '[]', :raw, :size, :at, 'pending', 0, '[]')"
            ).bindparams(bindparam("at", type_=DateTime(timezone=True))),
            [
                {"key": f"k{n}", "raw": RAW + bytes([n]), "size": len(RAW) + 1, "at": datetime(2026, 12, 1, tzinfo=UTC)}
                for n in range(3)
            ],
        )

    _run(database_url, store)
    upgrade(database_url, "0008")

    def moved(conn: Connection) -> tuple[set[str], Sequence[Any]]:
        return _columns(conn, "inbound_messages"), conn.execute(
            text(
                "SELECT m.dedupe_key, r.raw FROM inbound_messages m JOIN inbound_raw r ON r.inbound_id = m.id"
                " ORDER BY m.id"
            )
        ).all()

    columns, rows = _run(database_url, moved)
    assert "raw" not in columns and {"status", "size", "dedupe_key"} <= columns
    assert [(key, bytes(raw)) for key, raw in rows] == [(f"k{n}", RAW + bytes([n])) for n in range(3)]

    command.downgrade(alembic_config(database_url), "0007")

    def back(conn: Connection) -> tuple[bool, Sequence[Any]]:
        return inspect(conn).has_table("inbound_raw"), conn.execute(
            text("SELECT dedupe_key, raw FROM inbound_messages ORDER BY id")
        ).all()

    has_raw_table, rows = _run(database_url, back)
    assert not has_raw_table
    assert [(key, bytes(raw)) for key, raw in rows] == [(f"k{n}", RAW + bytes([n])) for n in range(3)]


def test_0022_moves_the_severity_table_into_the_rule_settings_and_back(database_url: str) -> None:
    upgrade(database_url, "0021")
    at = datetime(2026, 12, 1, 8, tzinfo=UTC)

    def change(conn: Connection) -> None:
        conn.execute(
            text(
                "UPDATE severity_rules SET grade = 'critical', updated_by = 'gm', updated_at = :at WHERE category = 'fit'"
            ).bindparams(bindparam("at", type_=DateTime(timezone=True))),
            {"at": at},
        )

    _run(database_url, change)
    upgrade(database_url, "0022")

    def moved(conn: Connection) -> tuple[bool, dict[str, Any]]:
        rows = conn.execute(
            text("SELECT rule_key, value, changed_by FROM rule_settings WHERE rule_table = 'severity'")
        ).all()
        return inspect(conn).has_table("severity_rules"), {key: (value, by) for key, value, by in rows}

    has_old, settings = _run(database_url, moved)
    assert not has_old
    assert settings["fit"] == ("critical", "gm") and settings["safety"][0] == "critical" and len(settings) == 5

    def drop_one(conn: Connection) -> None:  # a category nobody set: the seed's grade on the way down
        conn.execute(text("DELETE FROM rule_settings WHERE rule_key = 'appearance'"))

    _run(database_url, drop_one)
    command.downgrade(alembic_config(database_url), "0021")

    def back(conn: Connection) -> tuple[bool, dict[str, Any]]:
        rows = conn.execute(text("SELECT category, grade, updated_by FROM severity_rules")).all()
        return inspect(conn).has_table("rule_settings"), {c: (g, by) for c, g, by in rows}

    has_new, grades = _run(database_url, back)
    assert not has_new
    assert grades["fit"] == ("critical", "gm") and grades["appearance"][0] == "low" and len(grades) == 5


def test_two_upgrades_started_at_once_on_an_empty_database_both_succeed(database_url: str, tmp_path: Path) -> None:
    """Two instances starting together (`kefu db upgrade` in each) against an empty database:
    on PostgreSQL they take turns on the schema lock; both exit 0, the schema is whole and the
    departments are seeded once."""
    env = {**os.environ, "KEFU_DATABASE_URL": database_url, "KEFU_DATA_DIR": str(tmp_path), "KEFU_SECRET_KEY": "test"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "kefu", "db", "upgrade"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    differences = _run(
        database_url,
        lambda c: compare_metadata(MigrationContext.configure(c, opts={"include_name": include_name}), Base.metadata),
    )
    assert differences == []
    codes = _run(database_url, lambda c: c.execute(text("SELECT code FROM departments")).scalars().all())
    assert sorted(codes) == sorted(d.code for d in DEPARTMENTS)
