"""Engine and unit of work.

SQLite (the embedded default) runs with WAL and ``synchronous=FULL`` so that a commit is on
disk before we acknowledge anything, and with a single pooled connection: SQLite allows one
writer at a time, and queueing inside the pool is fairer and faster than its busy-retry loop.
PostgreSQL uses an ordinary pool; several instances can share it.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from cases import rows

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.update(pool_size=1, max_overflow=0, pool_timeout=120)
        if parsed.database and parsed.database != ":memory:":
            from cases.sqlite_inline import inline_creator

            kwargs["async_creator"] = inline_creator(parsed.database)
    else:
        kwargs.update(pool_size=10, max_overflow=5, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def insert_or_skip(dialect: str, model: Any, key: list[str] | None = None) -> Any:
    """``INSERT ... ON CONFLICT [(key)] DO NOTHING`` in the spelling of `dialect` (PostgreSQL,
    else SQLite). Idempotency lives in unique constraints; this is how writers lean on them."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(model).on_conflict_do_nothing(index_elements=key)


async def insert_ignore(session: AsyncSession, model: Any, values: dict[str, Any], key: list[str],
                        returning: Any = None) -> Any:
    """One row with `insert_or_skip` [RETURNING], on the session's database."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    stmt = insert_or_skip(dialect, model, key).values(**values)
    if returning is None:
        await session.execute(stmt)
        return None
    return (await session.execute(stmt.returning(returning))).scalar_one_or_none()


class UnitOfWorkSession(Session):
    """kefu's sessions: a flush also writes what was queued with `cases.rows` (bulk rows and
    new intake objects), and every commit flushes that first."""

    def flush(self, objects: Any = None) -> None:
        super().flush(objects)
        rows.write(self)


event.listen(UnitOfWorkSession, "before_commit", rows.before_commit)
event.listen(UnitOfWorkSession, "after_soft_rollback", rows.forget)


class Database:
    """Holds the engine and hands out units of work (one session, one transaction)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False,
                                           sync_session_class=UnitOfWorkSession)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """Commits when the block ends normally, rolls back on any exception."""
        async with self.sessions.begin() as session:
            yield session

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
