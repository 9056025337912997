"""Nothing is lost: kill -9 in the middle of a stream of SMTP deliveries, restart, and every
message that got 250 is a case (or quarantined), none of them twice."""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cases.settings import Settings
from cases.store.db import Database, make_engine
from cases.store.models import CaseMessage, InboundMessage
from tests.conftest import free_port
from tests.mailhelpers import customer_mail

pytestmark = pytest.mark.slow


def _start(settings: Settings, log: Path) -> tuple[subprocess.Popen[bytes], Settings]:
    """Start `kefu serve` and wait for its SMTP banner (ours: "kefu ESMTP"). When another
    program took one of the free ports meanwhile, kefu exits with "address already in use":
    try again on new ports. Returns the process and the settings it runs with."""
    for _ in range(3):
        proc = _start_once(settings, log)
        if proc is not None:
            return proc, settings
        settings = replace(settings, smtp_listen=("127.0.0.1", free_port()), http_listen=("127.0.0.1", free_port()))
    raise AssertionError(f"kefu found no free port: {log.read_text()[-2000:]}")


def _start_once(settings: Settings, log: Path) -> subprocess.Popen[bytes] | None:
    log_start = log.stat().st_size if log.exists() else 0
    env = {
        **os.environ,
        "KEFU_DATA_DIR": str(settings.data_dir),
        "KEFU_DATABASE_URL": settings.sqlalchemy_url,
        "KEFU_SMTP_LISTEN": "{}:{}".format(*settings.smtp_listen),
        "KEFU_HTTP_LISTEN": "{}:{}".format(*settings.http_listen),
        "KEFU_MAIL_DOMAINS": "kefu.example",
        "KEFU_SECRET_KEY": "crash-test",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "kefu", "serve"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            if "address already in use" in log.read_text()[log_start:]:
                return None
            raise AssertionError(f"kefu exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(settings.smtp_listen, timeout=2) as conn:
                if b"kefu ESMTP" in conn.recv(512) and proc.poll() is None:
                    return proc
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("kefu did not open its SMTP port within 60 s")


def _stream(port: int, acked: list[str], stop: threading.Event, limit: int) -> None:
    """Deliver until the server dies (or `limit`); remember each Message-ID that got 250."""
    n = 0
    while not stop.is_set() and n < limit:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
                while not stop.is_set() and n < limit:
                    mid = f"crash{n}@dfmc-parts.cn"
                    msg = customer_mail(
                        f"客户{n % 7} <c{n % 7}@dfmc-parts.cn>",
                        f"密封圈漏油 {n}",
                        f"零件号：3501-{n:05d}\n漏油。",
                        message_id=mid,
                    )
                    client.send_message(msg)  # raises unless every recipient got 250
                    acked.append(mid)
                    n += 1
        except (OSError, smtplib.SMTPException):
            return


def test_sigkill_during_smtp_stream_loses_and_duplicates_nothing(settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "kefu.log"
    proc, settings = _start(settings, log)
    acked: list[str] = []
    stop = threading.Event()
    sender = threading.Thread(target=_stream, args=(settings.smtp_listen[1], acked, stop, 5000))
    sender.start()
    deadline = time.monotonic() + 30
    while len(acked) < 40 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # in the middle of the stream, while it still sends
    proc.wait(10)
    sender.join(10)
    stop.set()
    assert len(acked) >= 40, f"only {len(acked)} messages were acknowledged before the kill"

    proc, settings = _start(settings, log)
    try:
        counts = asyncio.run(_wait_processed(settings, set(acked)))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    missing = [mid for mid in acked if counts.get(mid, 0) == 0]
    twice = {mid: n for mid, n in counts.items() if n > 1}
    assert not missing, f"{len(missing)} acknowledged messages were lost, e.g. {missing[:3]}"
    assert not twice, f"messages stored twice: {twice}"


async def _wait_processed(settings: Settings, acked: set[str]) -> dict[str | None, int]:
    """Wait until nothing is pending, then count each Message-ID in the cases' conversations
    (and in the quarantine, which also counts as kept)."""
    db = Database(make_engine(settings.sqlalchemy_url))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            async with db.reader() as s:
                pending = (
                    await s.execute(
                        select(func.count()).select_from(InboundMessage).where(InboundMessage.status == "pending")
                    )
                ).scalar_one()
            if pending == 0:
                break
            await asyncio.sleep(0.2)
        async with db.reader() as s:
            in_cases = dict(
                (
                    await s.execute(
                        select(CaseMessage.message_id, func.count())
                        .where(CaseMessage.direction == "in")
                        .group_by(CaseMessage.message_id)
                    )
                ).all()
            )
            held = dict(
                (
                    await s.execute(
                        select(InboundMessage.message_id, func.count())
                        .where(InboundMessage.status == "quarantined")
                        .group_by(InboundMessage.message_id)
                    )
                ).all()
            )
        return {mid: in_cases.get(mid, 0) + held.get(mid, 0) for mid in set(in_cases) | set(held) | acked}
    finally:
        await db.dispose()
