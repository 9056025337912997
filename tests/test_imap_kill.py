"""kill -9 of a running `kefu serve` after the IMAP mail is committed and before it is flagged.

A loopback proxy between kefu and Dovecot forwards everything until kefu sends its flag
(`UID STORE`); it holds that command back and tells the test, which SIGKILLs kefu. The mail
is committed but unflagged on the server; the next start reads it again and opens no second
case (intake rules; Zammad #1662)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cases.settings import Settings
from cases.store.models import Case, InboundMessage
from kefu.bootstrap import Kefu
from tests.dovecot import PASSWORD, USER, Dovecot
from tests.test_imap import complaint, dovecot, needs_dovecot, one_check, poller  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow


class HoldingProxy:
    """Forwards one TCP connection at a time to `port`; swallows everything from the client
    once a command containing `hold` passes, and sets `held`."""

    def __init__(self, port: int, hold: bytes) -> None:
        self.upstream, self.hold = port, hold
        self.held = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                continue
            server = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        seen = b""
        try:
            while data := src.recv(65536):
                if from_client:
                    seen = (seen + data)[-4096:]
                    if self.hold in seen:
                        self.held.set()
                        continue  # never reaches the server
                    if self.held.is_set():
                        continue
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.listener.close()


def _serve(settings: Settings, imap_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KEFU_DATA_DIR": str(settings.data_dir),
        "KEFU_DATABASE_URL": settings.sqlalchemy_url,
        "KEFU_SMTP_LISTEN": "{}:{}".format(*settings.smtp_listen),
        "KEFU_HTTP_LISTEN": "{}:{}".format(*settings.http_listen),
        "KEFU_MAIL_DOMAINS": "kefu.example",
        "KEFU_SECRET_KEY": "imap-kill-test",
        "KEFU_IMAP_URL": imap_url,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "kefu", "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def _count(kefu: Kefu, model: object) -> int:
    async with kefu.db.reader() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()  # type: ignore[arg-type]


@needs_dovecot
async def test_kill_9_between_commit_and_flag_opens_no_second_case(
    kefu: Kefu, dovecot: Dovecot, tmp_path: Path
) -> None:
    dovecot.append(complaint())
    proxy = HoldingProxy(dovecot.port, b"UID STORE")
    log = tmp_path / "kefu.log"
    proc = _serve(kefu.settings, f"imap://{USER}:{PASSWORD}@127.0.0.1:{proxy.port}/INBOX?starttls=never", log)
    try:
        deadline = time.monotonic() + 30
        while not proxy.held.is_set():
            assert proc.poll() is None, f"kefu exited: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"kefu never flagged the mail: {log.read_text()[-2000:]}"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # the commit is done (the flag comes only after it)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proxy.close()
    assert "kefu: IMAP mailbox se…@127.0.0.1" in log.read_text()
    assert await _count(kefu, InboundMessage) == 1
    assert b"\\Seen" not in dovecot.flags()[1]

    fresh = poller(kefu, dovecot.url())  # the next start, straight to the server
    result = await one_check(fresh)
    assert (result.stored, result.duplicates) == (0, 1)
    await kefu.processor.drain()
    assert await _count(kefu, Case) == 1 and await _count(kefu, InboundMessage) == 1
    assert b"$KefuImported" in dovecot.flags()[1]
