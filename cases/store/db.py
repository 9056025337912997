"""Engine and unit of work.

SQLite (the embedded default) runs with WAL and ``synchronous=FULL`` so that a commit is on
disk before we acknowledge anything, and with a single pooled connection: SQLite allows one
writer at a time, and queueing inside the pool is fairer and faster than its busy-retry loop.
PostgreSQL uses an ordinary pool; several instances can share it.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from cases.search import index as search_index
from cases.store import rows
from cases.store.faults import DatabaseHealth

log = logging.getLogger(__name__)


# How long a connection waits for another's write lock, and for switching a new database to
# WAL while another process does the same (that switch answers "locked" without waiting);
# KEFU_SQLITE_BUSY_SECONDS. Past it the write fails with "database is locked", a transient
# error (cases/store/faults.py) that the workers retry.
SQLITE_BUSY_SECONDS = 30.0


def _sqlite_pragmas(busy_seconds: float) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        _switch_to_wal(cursor, busy_seconds)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


def _switch_to_wal(cursor: Any, busy_seconds: float) -> None:
    """``PRAGMA journal_mode=WAL``, retried: on a database that two processes open for the first
    time at once (two instances starting together), one of them gets "database is locked" at
    once, without the busy handler; a moment later the other has switched and it is a no-op."""
    deadline = time.monotonic() + busy_seconds
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def make_engine(url: str, *, echo: bool = False, sqlite_busy_seconds: float = SQLITE_BUSY_SECONDS) -> AsyncEngine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.update(pool_size=1, max_overflow=0, pool_timeout=120)
        if parsed.database and parsed.database != ":memory:":
            from cases.store.sqlite_inline import inline_creator

            kwargs["async_creator"] = inline_creator(parsed.database)
    else:
        kwargs.update(pool_size=10, max_overflow=5, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(sqlite_busy_seconds))
    return engine


class UnitOfWorkSession(Session):
    """kefu's sessions: a flush also writes what was queued with `cases.store.rows` (bulk rows and
    new intake objects), and every commit flushes that first; the search index rows of the cases
    whose text changed are rebuilt just before the commit (cases/search/index.py)."""

    def flush(self, objects: Any = None) -> None:
        search_index.note_flush(self)
        super().flush(objects)
        rows.write(self)


def _rebuild_search_rows(session: Session) -> None:
    # SQLAlchemy flushes the session's last changes after `before_commit`: flush them now, so
    # that what they change is in the index of this same transaction.
    session.flush()
    search_index.before_commit(session)


event.listen(UnitOfWorkSession, "before_commit", rows.before_commit)
event.listen(UnitOfWorkSession, "before_commit", _rebuild_search_rows)
event.listen(UnitOfWorkSession, "after_soft_rollback", rows.forget)
event.listen(UnitOfWorkSession, "after_soft_rollback", search_index.forget)


# The key of the PostgreSQL advisory lock that serialises schema upgrades and seeding: several
# instances started at once against an empty database take turns instead of all creating the
# same tables ("kefu" in ASCII; any constant works, as long as every instance uses the same).
SCHEMA_LOCK_KEY = 0x6B656675


def hold_schema_lock(connection: Connection) -> None:
    """Wait for the schema lock; it is released when the transaction ends. On PostgreSQL an
    advisory lock; on SQLite the database's write lock, taken now (BEGIN IMMEDIATE) rather
    than at the first write, since Python's sqlite3 starts no transaction before DDL and two
    upgrades would both find the schema empty."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
    elif connection.dialect.name == "sqlite" and not connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Holds the engine and hands out units of work (one session, one transaction)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Shared by every worker of this process: the outage is logged once, not by each of them.
        self.health = DatabaseHealth()
        self.sessions = async_sessionmaker(
            engine, expire_on_commit=False, autoflush=False, sync_session_class=UnitOfWorkSession
        )

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
        """A session for reading: on PostgreSQL one snapshot for all its statements (REPEATABLE
        READ), as SQLite's WAL readers have anyway. A page put together from several queries —
        a case, then its history and messages — never shows a step's history without the state
        the same commit gave the case (READ COMMITTED would let a commit fall between them)."""
        async with self.sessions() as session:
            if self.dialect == "postgresql":
                await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    async def answers(self) -> bool:
        """Does the database answer a trivial query now? (Is a failure the work's or the database's?)"""
        try:
            async with asyncio.timeout(5):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception:  # any failure means no
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()
