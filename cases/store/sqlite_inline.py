"""aiosqlite without the thread hop per statement.

aiosqlite sends every call (execute, fetch, cursor, close) to its worker thread and back;
a case needs a dozen statements, so the hops, not SQLite, set the pace (measured: about 13 ms
a message, 77 messages a second). SQLite statements on a local file take microseconds, so
this connection runs them inline on the event loop and keeps only the commit, which waits for
fsync, in aiosqlite's thread. SQLAlchemy awaits one call at a time per connection, so the two
threads never use the sqlite3 connection at once (hence ``check_same_thread=False``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite


class InlineConnection(aiosqlite.Connection):
    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _in_thread(self, fn: Callable[..., Any]) -> Any:
        return await aiosqlite.Connection._execute(self, fn)  # type: ignore[no-untyped-call]

    async def commit(self) -> None:
        await self._in_thread(self._conn.commit)


def inline_creator(path: str) -> Callable[[], Any]:
    async def create() -> InlineConnection:
        connector = partial(sqlite3.connect, path, check_same_thread=False)
        conn = InlineConnection(connector, 64)
        await conn  # starts its thread and connects
        return conn

    return create
