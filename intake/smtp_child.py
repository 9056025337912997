"""The SMTP process itself: the child that intake/smtp_process.py starts and supervises.

It builds its own database engine, inbox and ``IntakeHandler`` and serves SMTP as the
in-process server does, raw bytes committed before ``250``. Over its socket to the parent it
says hello (the port, or why it could not listen), sends a wake byte after each commit and a
heartbeat from its event loop, and stops when asked or when the parent is gone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
from typing import Any

from cases.settings import Settings

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
STOP_BYTE = b"s"  # parent -> child
WAKE_BYTE = b"w"  # child -> parent: new input stored
HEARTBEAT_BYTE = b"h"  # child -> parent: its event loop runs


def received(sock: socket.socket, size: int) -> bytes | None:
    """What a non-blocking socket holds now: bytes; ``b""`` at its end (or when it broke);
    None when nothing is waiting."""
    try:
        return sock.recv(size)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""


def child_main(settings: Settings, sock: socket.socket, close_seconds: float, log_level: int,
               heartbeat_seconds: float = HEARTBEAT_SECONDS) -> None:
    """Entry point of the SMTP process (spawned: a fresh interpreter that imports this module,
    not the supervisor's)."""
    import sys

    from kefu import logs
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us in order
    logs.configure(log_level, stream=sys.stderr)
    try:
        code = asyncio.run(_serve(settings, sock, close_seconds, heartbeat_seconds))
    except Exception:
        log.exception("SMTP process failed")
        code = 1
    sys.exit(code)


class _ParentLink:
    """The child's end of the socket: wake the parent without blocking, notice its end."""

    def __init__(self, sock: socket.socket, stopped: asyncio.Event) -> None:
        self.sock = sock
        self.stopped = stopped

    def hello(self, message: dict[str, Any]) -> None:
        # Blocking and first: the socket is empty and nothing else has been sent yet.
        self.sock.sendall(json.dumps(message).encode() + b"\n")
        self.sock.setblocking(False)

    def wake(self, byte: bytes = WAKE_BYTE) -> None:
        try:
            self.sock.send(byte)
        except BlockingIOError:
            pass  # the parent has unread wake bytes: it will wake anyway
        except OSError:
            self.parent_gone()

    def readable(self) -> None:
        data = received(self.sock, 64)
        if data is None:
            return
        if not data:
            self.parent_gone()
        elif not self.stopped.is_set():
            log.info("SMTP process: asked to stop")
            self.stopped.set()

    def parent_gone(self) -> None:
        if not self.stopped.is_set():
            log.warning("SMTP process: the kefu process is gone; stopping")
            self.stopped.set()

    async def heartbeat(self, seconds: float) -> None:
        """From the event loop: a stuck loop stops the heartbeat, and the parent notices."""
        while not self.stopped.is_set():
            self.wake(HEARTBEAT_BYTE)
            await asyncio.sleep(seconds)


async def _serve(settings: Settings, sock: socket.socket, close_seconds: float,
                 heartbeat_seconds: float = HEARTBEAT_SECONDS) -> int:
    from cases.domain.clock import utcnow
    from cases.store.db import Database, make_engine
    from intake.inbox import Inbox
    from intake.smtp import close_smtp_server, start_smtp_server

    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    parent = _ParentLink(sock, stopped)
    db = Database(make_engine(settings.sqlalchemy_url))
    inbox = Inbox(db, utcnow, on_stored=parent.wake)
    await inbox.start()
    try:
        try:
            server = await start_smtp_server(inbox, settings)
        except OSError as exc:
            parent.hello({"error": str(exc), "errno": exc.errno})
            return 1
        except Exception as exc:
            parent.hello({"error": f"{type(exc).__name__}: {exc}", "errno": None})
            raise
        parent.hello({"port": server.sockets[0].getsockname()[1]})
        loop.add_reader(sock.fileno(), parent.readable)
        loop.add_signal_handler(signal.SIGTERM, stopped.set)
        beating = asyncio.create_task(parent.heartbeat(heartbeat_seconds))
        await stopped.wait()
        beating.cancel()
        loop.remove_reader(sock.fileno())
        await close_smtp_server(server, close_seconds)
    finally:
        await inbox.stop()  # senders still waiting get their temporary error
        await db.dispose()
    return 0
