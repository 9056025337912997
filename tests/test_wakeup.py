"""The workers' idle step keeps a cancellation that arrives as they are woken (CPython gh-86296:
asyncio.wait_for lost it on 3.11, and kefu's shutdown hung on a worker that ran on)."""

from __future__ import annotations

import asyncio

import pytest

from cases.services.wakeup import wait_awake


async def _worker(event: asyncio.Event, rounds: list[int]) -> None:
    while True:
        rounds.append(1)
        await wait_awake(event, 5.0)


async def test_a_cancel_that_coincides_with_a_wakeup_stops_the_worker() -> None:
    for _ in range(200):
        event = asyncio.Event()
        rounds: list[int] = []
        task = asyncio.create_task(_worker(event, rounds))
        await asyncio.sleep(0)
        event.set()
        task.cancel()  # in the same step as the wakeup
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 2.0)


async def test_it_returns_on_the_event_or_after_the_interval_with_the_event_cleared() -> None:
    event = asyncio.Event()
    event.set()
    await asyncio.wait_for(wait_awake(event, 30.0), 1.0)
    assert not event.is_set()
    loop = asyncio.get_running_loop()
    start = loop.time()
    await wait_awake(event, 0.05)
    assert loop.time() - start >= 0.04


async def test_a_failing_round_is_logged_and_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    from cases.services.wakeup import run_rounds

    calls: list[int] = []
    event = asyncio.Event()

    async def round_() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")
        event.set()  # the next round comes at once

    task = asyncio.create_task(run_rounds(round_, event, 0.1, "test worker"))
    deadline = asyncio.get_running_loop().time() + 5
    while len(calls) < 3 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(calls) >= 3
    assert "test worker: round failed" in caplog.text
