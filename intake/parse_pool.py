"""Parsing on the machine's other cores.

Parsing is the CPU-heavy, pure part of intake; in worker processes it no longer competes with
the event loop that answers SMTP sessions and writes cases. ``workers=0`` parses inline (tests,
one-core machines). A broken pool (a worker killed) is replaced on the next batch, and the
batch in hand is parsed inline, so a dying worker delays mail but never loses it.

A worker ends with kefu's process, even after a SIGKILL: its parent is multiprocessing's
fork server, which lives as long as any worker does, and the worker holds both ends of its
own task pipe, so without a watch it would wait for tasks forever (and keep the fork server
and the resource tracker alive with it).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import select
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from intake.fax_rules import RULES, FaxRule
from intake.prepare import Prepared, RawRow, prepare, prepare_many

log = logging.getLogger(__name__)

MAX_BREAKS = 3  # pools that die in a row before we stop starting new ones
WATCH_POLL_SECONDS = 2.0  # where pidfd_open is missing (not Linux): how often to look


def _watch_parent(parent_pid: int) -> None:
    """The worker's initializer: exit when kefu's process `parent_pid` has ended."""
    try:
        fd = os.pidfd_open(parent_pid)  # Linux: readable once that process has ended
    except ProcessLookupError:
        os._exit(0)
    except (AttributeError, OSError):
        fd = None
    threading.Thread(target=_exit_after, args=(parent_pid, fd), name="parse-worker-watch", daemon=True).start()


def _exit_after(parent_pid: int, fd: int | None) -> None:
    if fd is not None:
        select.select([fd], [], [])
    else:
        while _alive(parent_pid):
            time.sleep(WATCH_POLL_SECONDS)
    os._exit(0)  # no cleanup to do: a worker holds nothing but the batch it parses


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    return True


class ParsePool:
    def __init__(self, workers: int, reference_prefix: str, fax_rules: tuple[FaxRule, ...] = RULES) -> None:
        self.workers = workers
        self.prefix = reference_prefix
        self.fax_rules = fax_rules
        self._pool: ProcessPoolExecutor | None = None
        self._breaks = 0

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # forkserver: workers start clean, not as copies of a process with threads and sockets.
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_watch_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def pids(self) -> list[int]:
        """The worker processes' ids (for measurements)."""
        return list(self._pool._processes) if self._pool is not None and self._pool._processes else []

    async def prepare(self, rows: list[RawRow]) -> list[Prepared]:
        if self.workers <= 0 or len(rows) < 2:
            return prepare_many(rows, self.prefix, self.fax_rules)
        loop = asyncio.get_running_loop()
        pool = self._executor()
        size = -(-len(rows) // self.workers)
        chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
        try:
            parts = await asyncio.gather(
                *(loop.run_in_executor(pool, prepare_many, c, self.prefix, self.fax_rules) for c in chunks)
            )
        except BrokenProcessPool:
            self.close()
            self._breaks += 1
            if self._breaks >= MAX_BREAKS:
                self.workers = 0
                log.error("parse workers died %d times; parsing inline from now on", self._breaks)
            else:
                log.error("a parse worker died; parsing this batch inline and starting new workers")
            return prepare_many(rows, self.prefix, self.fax_rules)
        self._breaks = 0
        return [p for part in parts for p in part]

    def warm_up(self) -> list[Future[list[Prepared]]]:
        """Start the workers now, not at the first mail: each imports the parsing stack (about
        half a second of CPU) while nothing waits for it. Returns without waiting for them."""
        if self.workers <= 0:
            return []
        pool = self._executor()
        return [pool.submit(prepare_many, [], self.prefix, self.fax_rules) for _ in range(self.workers)]

    def prepare_one(self, row: RawRow) -> Prepared:
        """Inline, for the message-by-message retry after a failed batch."""
        return prepare(row, self.prefix, self.fax_rules)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
