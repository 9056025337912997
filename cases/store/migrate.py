"""`kefu db upgrade`: Alembic, configured in code (no alembic.ini to lose)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from cases.store.db import make_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """What autogenerate compares: not the search index (`case_search` and, on SQLite, FTS5's
    shadow tables), which no model describes: migration 0012 makes it in each database's way."""
    return not (type_ == "table" and name is not None and name.startswith("case_search"))


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Create or upgrade the schema. Safe to run on every start and from several instances at
    once: on PostgreSQL they take turns on an advisory lock (migrations/env.py)."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str) -> None:
    await asyncio.to_thread(upgrade, url)


async def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()
