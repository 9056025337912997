"""Which database errors are worth another try, and how kefu says the database is away.

A transient error is one the same work survives on a second try: the connection was lost (a
PostgreSQL restart, ``pg_terminate_backend``, a network blip), the server asks for a retry
(serialization failure, deadlock, lock timeout) or the SQLite file is locked by another
writer. Such an error must never quarantine a mail or set aside a notice: issue 17 saw 22
mails quarantined and 24 events set aside while backends were terminated for 15 s. Anything
else (a constraint, a bug, a value the database refuses) is the work's own fault; it is tried
once more, and set aside only when it fails again while the database answers.

The outage log: one line when the database stops answering, one when it is back (with how
long it was away and how many mails were answered 451 meanwhile), instead of a traceback for
every worker round and every SMTP session (issue 17 counted 443 ERROR lines for 20 s).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)

T = TypeVar("T")

# PostgreSQL SQLSTATEs that ask for a retry (Appendix A of the PostgreSQL manual): class 08 is a
# connection exception; 40001 serialization_failure, 40P01 deadlock_detected, 55P03
# lock_not_available (lock_timeout, NOWAIT), 57P01-57P03 the server shutting down or starting,
# 53300 too_many_connections, 57014 query_canceled (statement_timeout).
_RETRY_STATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300", "57014"})
# asyncpg's own errors after its connection broke under it ("cannot switch to state 12",
# "connection was closed in the middle of operation"): the next connection is fine.
_ASYNCPG_BROKEN = frozenset(
    {
        "InternalClientError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "ConnectionRejectionError",
        "ClientCannotConnectError",
        "CannotConnectNowError",
        "TooManyConnectionsError",
        "InterfaceError",
    }
)
# A socket that failed on the way to the server (refused and reset are ConnectionErrors).
_NETWORK_ERRNOS = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN, errno.ETIMEDOUT})
# SQLite: another connection holds the write lock past the busy timeout.
_SQLITE_BUSY = ("database is locked", "database is busy", "database table is locked")

# Bounded backoff of one piece of work: 0.2 + 0.4 + 0.8 + 1.6 + 3.2 s, then the worker's round
# gives up quietly and the work stays where it was (pending) for the next round.
TRIES = 6
FIRST_PAUSE = 0.2
MAX_PAUSE = 5.0


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (SQLAlchemy's `.orig`) and its causes, each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        orig = getattr(e, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None, e.__cause__, e.__context__]


def is_transient(error: BaseException) -> bool:
    """True when the same work may well succeed on a new try (see the module's text)."""
    for e in _chain(error):
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, sa_exc.TimeoutError | sa_exc.DisconnectionError):
            return True  # the pool waited in vain for a connection; the server did not answer
        if isinstance(e, sqlite3.OperationalError) and any(b in str(e).lower() for b in _SQLITE_BUSY):
            return True
        state = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if isinstance(state, str) and (state in _RETRY_STATES or state.startswith("08")):
            return True
        kind = type(e)
        if kind.__module__.startswith("asyncpg") and kind.__name__ in _ASYNCPG_BROKEN:
            return True
        if isinstance(e, ConnectionError | TimeoutError):
            return True
        if isinstance(e, OSError) and e.errno in _NETWORK_ERRNOS:
            return True
    return False


class RepeatedFailure(Exception):
    """The work failed twice for a reason of its own while the database answered: set it aside."""

    def __init__(self, error: Exception) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error


class DatabaseHealth:
    """The database's state as this process sees it, logged once per change of state.

    A blip (a terminated backend, a deadlock retried at once) is not an outage: it is logged at
    INFO. Only when the errors go on for `grace_seconds` is the database called unavailable (one
    ERROR line), and then its return is one WARNING line with how long it was away."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, grace_seconds: float = 2.0) -> None:
        self._clock = clock
        self.grace_seconds = grace_seconds
        self._down_since: float | None = None
        self._announced = False
        self.refused = 0  # mails answered 451 (SMTP) meanwhile
        self.outages = 0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, error: BaseException, what: str) -> None:
        """A transient failure: said once when it lasts, else quietly (INFO, then DEBUG)."""
        now = self._clock()
        if self._down_since is None:
            self._down_since, self.refused, self._announced = now, 0, False
            log.info("%s: database error, retrying: %s: %s", what, type(error).__name__, _first_line(error))
        if not self._announced and now - self._down_since >= self.grace_seconds:
            self._announced = True
            self.outages += 1
            log.error(
                "database unavailable (%s: %s: %s); retrying quietly until it answers",
                what,
                type(error).__name__,
                _first_line(error),
            )
        else:
            log.debug("%s: database still unavailable: %s", what, _first_line(error))

    def answered_451(self) -> None:
        self.refused += 1

    def ok(self) -> None:
        """Something just worked: if the database was away, it is back."""
        if self._down_since is None:
            return
        away = self._clock() - self._down_since
        if self._announced:
            log.warning("database back after %.0f s; %d mail(s) answered 451 meanwhile", away, self.refused)
        else:
            log.info("database answers again after %.1f s; %d mail(s) answered 451 meanwhile", away, self.refused)
        self._down_since, self._announced = None, False


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:300]


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    health: DatabaseHealth,
    answers: Callable[[], Awaitable[bool]],
    what: str,
    *,
    tries: int = TRIES,
    first_pause: float = FIRST_PAUSE,
    max_pause: float = MAX_PAUSE,
) -> T:
    """Run `attempt` (one unit of work) until it succeeds.

    A transient error, or any error while the database does not answer, is tried again after a
    growing pause; after `tries` the last error is raised (the caller's round ends and the work
    stays pending). An error of the work's own that comes twice while the database answers
    raises `RepeatedFailure`: the caller sets the work aside."""
    own_failures = 0
    last: Exception | None = None
    for n in range(tries):
        try:
            result = await attempt()
        except Exception as exc:  # sorted into the two kinds right here
            last = exc
            if is_transient(exc) or not await answers():
                health.failed(exc, what)
            else:
                own_failures += 1
                log.warning("%s failed (%s: %s)", what, type(exc).__name__, _first_line(exc))
                if own_failures >= 2:
                    raise RepeatedFailure(exc) from exc
            await asyncio.sleep(min(first_pause * 2**n, max_pause))
            continue
        health.ok()
        return result
    assert last is not None
    raise last
