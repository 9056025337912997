"""SMTP intake in its own process, beside the one that writes cases.

SMTP sessions and the raw store cost about as much CPU per mail as writing the case; on one
event loop they share one core while the machine's second core idles. ``SmtpProcess`` (used
by the composition root) starts a child process that builds its own database engine, inbox
and ``IntakeHandler`` and serves SMTP exactly as the in-process server does: same handler,
same limits, same replies, raw bytes committed before ``250``.

Parent and child talk over one socket pair:

- child -> parent: one JSON line first, ``{"port": N}`` once it listens or ``{"error": ...,
  "errno": N}`` if it could not (address in use); after that every byte means "new input
  stored": the parent wakes the processor. Wake bytes are sent without blocking and dropped
  when the socket is full (unread bytes already wake the parent), so they coalesce. A
  heartbeat byte comes every ``heartbeat_seconds`` from the child's event loop; a child
  silent for ``hung_seconds`` (its loop stuck, or the process stopped) is killed and
  replaced like one that died: senders meanwhile time out and send again later.
- parent -> child: any byte means "stop". End of file means the parent is gone, even after a
  SIGKILL (the kernel closes its end): the child stops at once, so a restarted ``kefu serve``
  can bind the port again.

The child's side is intake/smtp_child.py.

The child is started with "spawn", not fork: the parent has threads (thread pools, IMAP, the
parse pool's feeder) and a forked copy of it could inherit a held lock. It ignores SIGINT (a
Ctrl-C reaches the whole process group; the parent stops it in order) and treats SIGTERM as
"stop". If it dies while kefu runs, the supervisor logs it and starts a new one after a
bounded, growing delay; its state is in ``status()`` (GET /api/v1/health, "smtp").
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import signal
import socket
import time
from collections.abc import Callable
from enum import StrEnum
from multiprocessing.process import BaseProcess
from typing import Any

from cases.settings import Settings
from intake.smtp_child import HEARTBEAT_SECONDS, STOP_BYTE, WAKE_BYTE, child_main, received

log = logging.getLogger(__name__)

READY_SECONDS = 60.0  # spawn imports SQLAlchemy and aiosmtpd: about a second, more on a busy machine
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
STABLE_SECONDS = 60.0  # a child that ran this long resets the backoff
REAP_SECONDS = 5.0  # after its socket closed, how long a dying child may take to exit
HUNG_SECONDS = 30.0  # no byte from the child this long: it is killed and replaced


class SmtpProcessError(OSError):
    """The SMTP process could not start (it could not listen, or died before it was ready)."""


class SmtpState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"  # it died; a new one starts after the backoff
    STOPPED = "stopped"


class SmtpProcess:
    """Supervises the SMTP child process: start, wake the processor, restart, stop."""

    def __init__(self, settings: Settings, on_stored: Callable[[], None], *, close_seconds: float = 10.0,
                 ready_seconds: float = READY_SECONDS, backoff_first: float = BACKOFF_FIRST_SECONDS,
                 backoff_max: float = BACKOFF_MAX_SECONDS, heartbeat_seconds: float = HEARTBEAT_SECONDS,
                 hung_seconds: float = HUNG_SECONDS) -> None:
        self.settings = settings
        self.on_stored = on_stored
        self.close_seconds = close_seconds
        self.ready_seconds = ready_seconds
        self.backoff_first = backoff_first
        self.backoff_max = backoff_max
        self.heartbeat_seconds = heartbeat_seconds
        self.hung_seconds = hung_seconds
        self.host, self.port = settings.smtp_listen  # the port is the child's real one once it listens
        root = logging.getLogger()
        self._log_level = root.getEffectiveLevel()
        self._proc: BaseProcess | None = None
        self._sock: socket.socket | None = None
        self._lost = asyncio.Event()  # the child's end of the socket closed: it died or is dying
        self._task: asyncio.Task[None] | None = None
        self._ready_at = 0.0
        self._heard_at = 0.0  # the last byte from the child
        self._hung = False  # the current child was killed for silence
        self._state = SmtpState.STARTING
        self._error: str | None = None
        self._restarts = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def status(self) -> dict[str, Any]:
        """For GET /api/v1/health: plain data."""
        return {"state": self._state.value, "process": "own", "pid": self.pid,
                "listen": f"{self.host}:{self.port}", "restarts": self._restarts, "error": self._error}

    async def start(self) -> None:
        """Start the child and wait until it listens; raises SmtpProcessError if it cannot."""
        await self._spawn()
        self._task = asyncio.create_task(self._supervise(), name="smtp-process supervisor")

    async def stop(self) -> None:
        """Ask the child to stop (it closes its server within close_seconds, stops its inbox,
        disposes its engine); join it, then terminate, then kill."""
        self._state = SmtpState.STOPPED
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        proc, sock = self._proc, self._sock
        self._forget_socket()
        if proc is None:
            return
        if proc.exitcode is None and sock is not None:
            try:
                sock.send(STOP_BYTE)
            except OSError:
                pass  # it is already gone
        if not await _wait_exit(proc, self.close_seconds + 10):
            log.warning("SMTP process (pid %s) did not stop in time; terminating it", proc.pid)
            proc.terminate()
            if not await _wait_exit(proc, REAP_SECONDS):
                proc.kill()
                await _wait_exit(proc, REAP_SECONDS)
        if sock is not None:
            sock.close()
        log.info("SMTP process (pid %s) stopped", proc.pid)

    async def _spawn(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        ours, theirs = socket.socketpair()
        proc = ctx.Process(target=child_main, args=(self.settings, theirs, self.close_seconds, self._log_level,
                                                    self.heartbeat_seconds), name="kefu-smtp", daemon=True)
        self._state = SmtpState.STARTING
        try:
            proc.start()
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()  # only the child holds its end: its death is our end of file
        ours.setblocking(False)
        try:
            extra = await self._hello(proc, ours)
        except BaseException:
            ours.close()
            if proc.exitcode is None:
                proc.kill()
            await _wait_exit(proc, REAP_SECONDS)
            raise
        self._proc, self._sock, self._ready_at = proc, ours, time.monotonic()
        self._heard_at, self._hung = self._ready_at, False
        self._lost.clear()
        self._state, self._error = SmtpState.RUNNING, None
        asyncio.get_running_loop().add_reader(ours.fileno(), self._readable)
        log.info("SMTP intake runs in its own process (pid %s) on %s:%d", proc.pid, self.host, self.port)
        if WAKE_BYTE in extra:
            self.on_stored()

    async def _hello(self, proc: BaseProcess, sock: socket.socket) -> bytes:
        """Read the child's first line; returns the wake bytes that followed it, if any."""
        loop = asyncio.get_running_loop()
        where = f"{self.host}:{self.port}"
        buf = b""
        try:
            async with asyncio.timeout(self.ready_seconds):
                while b"\n" not in buf:
                    chunk = await loop.sock_recv(sock, 4096)
                    if not chunk:
                        await _wait_exit(proc, REAP_SECONDS)
                        raise SmtpProcessError(f"SMTP intake on {where}: its process {_describe_exit(proc)} "
                                               f"before it listened (see its log above)")
                    buf += chunk
        except TimeoutError:
            raise SmtpProcessError(f"SMTP intake on {where}: its process did not report ready within "
                                   f"{self.ready_seconds:g} s") from None
        line, _, rest = buf.partition(b"\n")
        hello = json.loads(line)
        if "error" in hello:
            message = f"SMTP intake could not listen on {where} (in its own process): {hello['error']}"
            raise SmtpProcessError(hello["errno"], message) if hello.get("errno") else SmtpProcessError(message)
        self.port = int(hello["port"])
        return rest

    def _readable(self) -> None:
        """Bytes from the child: it is alive, and wake bytes (any number) are one wake; or end
        of file: it is gone."""
        sock = self._sock
        if sock is None:
            return
        woke = False
        while (data := received(sock, 4096)) is not None:
            if not data:
                self._forget_socket()
                sock.close()
                self._lost.set()
                break
            self._heard_at = time.monotonic()
            woke = woke or WAKE_BYTE in data
        if woke:
            self.on_stored()

    def _forget_socket(self) -> None:
        if self._sock is not None:
            try:
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
            except (RuntimeError, ValueError):  # no loop, or the socket is already closed
                pass
            self._sock = None

    async def _supervise(self) -> None:
        """Restart a child that died, after a delay that doubles up to backoff_max (reset once
        a child has run for STABLE_SECONDS)."""
        delay = self.backoff_first
        while True:
            await self._watch()
            self._lost.clear()
            proc = self._proc
            assert proc is not None
            await _wait_exit(proc, REAP_SECONDS)
            if proc.exitcode is None:
                proc.kill()
                await _wait_exit(proc, REAP_SECONDS)
            if time.monotonic() - self._ready_at >= STABLE_SECONDS:
                delay = self.backoff_first
            self._state = SmtpState.RESTARTING
            silent = f" after {self.hung_seconds:g} s without a sign of life" if self._hung else ""
            self._error = f"SMTP process (pid {proc.pid}) {_describe_exit(proc)}{silent}"
            log.error("%s; SMTP intake is down, a new process starts in %.0f s", self._error, delay)
            while True:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)
                try:
                    await self._spawn()
                except Exception as exc:
                    self._state, self._error = SmtpState.RESTARTING, str(exc)
                    log.error("SMTP process did not start: %s; trying again in %.0f s", exc, delay)
                    continue
                self._restarts += 1
                break

    async def _watch(self) -> None:
        """Return once the child's socket is closed; kill a child that has been silent for
        hung_seconds (its heartbeats stopped), which then closes it."""
        while not self._lost.is_set():
            try:
                async with asyncio.timeout(self.heartbeat_seconds):
                    await self._lost.wait()
            except TimeoutError:
                self._readable()  # bytes that came while this loop was busy elsewhere count
                proc = self._proc
                silent = time.monotonic() - self._heard_at
                if proc is not None and not self._hung and not self._lost.is_set() and silent > self.hung_seconds:
                    log.error("SMTP process (pid %s) gave no sign of life for %.0f s; killing it",
                              proc.pid, silent)
                    self._hung = True
                    proc.kill()  # its end of the socket closes: _lost is set


def _describe_exit(proc: BaseProcess) -> str:
    code = proc.exitcode
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


async def _wait_exit(proc: BaseProcess, seconds: float) -> bool:
    """Wait (without blocking the loop) until `proc` has exited and been reaped."""
    if proc.exitcode is not None:
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    ended = loop.create_future()
    loop.add_reader(proc.sentinel, lambda: None if ended.done() else ended.set_result(None))
    try:
        async with asyncio.timeout_at(deadline):
            await ended
            # The sentinel is readable once the child's files are closed, a moment before the
            # kernel lets us reap it: poll for that moment.
            while proc.exitcode is None:
                await asyncio.sleep(0.005)
    except TimeoutError:
        pass
    finally:
        loop.remove_reader(proc.sentinel)
    return proc.exitcode is not None
