"""Alembic environment: runs on the async engine kefu itself uses (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from cases.store.db import hold_schema_lock, make_engine
from cases.store.migrate import include_name
from cases.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
        # All migrations in one transaction under the schema lock, on SQLite too (it has
        # transactional DDL; alembic otherwise commits after each migration there, letting a
        # second upgrade in between).
        transactional_ddl=True,
    )
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite alters a table by rebuilding it (copy, drop, rename); with foreign keys on,
        # dropping `cases` while other rows refer to it fails. Off for the migration (the
        # pragma works only outside a transaction, so before the lock's BEGIN), checked at
        # its end instead; the engine is disposed after the run.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    with context.begin_transaction():
        # Before the current revision is read: a second instance upgrading at the same moment
        # waits here, then finds the schema at head and has nothing to do.
        hold_schema_lock(connection)
        context.run_migrations()
        if sqlite:
            _check_foreign_keys(connection)


def _check_foreign_keys(connection: Connection) -> None:
    """Fail the migration (it rolls back) if it left a row pointing at nothing."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        shown = ", ".join(f"{row[0]} rowid {row[1]} -> {row[2]}" for row in broken[:5])
        raise RuntimeError(f"the migration left {len(broken)} rows referring to missing rows: {shown}")


async def _run_async() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())
