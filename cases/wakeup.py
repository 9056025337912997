"""Sleep until woken or a poll interval passes: the idle step of every background worker.

Not ``asyncio.wait_for(event.wait(), seconds)``: on Python 3.11 it swallows a cancellation
that arrives just as the event is set (CPython gh-86296), and a worker woken while kefu was
stopping ran on forever and hung the shutdown. ``asyncio.timeout`` does not lose it.
"""

from __future__ import annotations

import asyncio


async def wait_awake(event: asyncio.Event, seconds: float) -> None:
    """Return when `event` is set or after `seconds`, with the event cleared."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        pass
    event.clear()
