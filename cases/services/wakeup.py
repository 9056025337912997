"""Sleep until woken or a poll interval passes: the idle step of every background worker.

Not ``asyncio.wait_for(event.wait(), seconds)``: on Python 3.11 it swallows a cancellation
that arrives just as the event is set (CPython gh-86296), and a worker woken while kefu was
stopping ran on forever and hung the shutdown. ``asyncio.timeout`` does not lose it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from cases.store.faults import DatabaseHealth, is_transient

log = logging.getLogger(__name__)


async def wait_awake(event: asyncio.Event, seconds: float) -> None:
    """Return when `event` is set or after `seconds`, with the event cleared."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        pass
    event.clear()
    await asyncio.sleep(0)  # a worker that wakes itself every round still lets the loop run


async def run_rounds(
    round_: Callable[[], Awaitable[object]],
    event: asyncio.Event,
    seconds: float,
    what: str,
    health: DatabaseHealth | None = None,
) -> None:
    """A background worker's life: a round, then sleep until woken or `seconds` pass; a failed
    round is logged and tried again (after a second, so a broken database is not hammered).
    With `health`, a round that failed because the database is away says so once for all the
    workers (cases/store/faults.py), not with a traceback every second."""
    while True:
        try:
            await round_()
        except Exception as exc:
            if health is not None and is_transient(exc):
                health.failed(exc, what)
            else:
                log.exception("%s: round failed; retrying soon", what)
            await asyncio.sleep(1)
        else:
            if health is not None:
                health.ok()
        await wait_awake(event, seconds)
