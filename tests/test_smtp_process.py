"""SMTP intake in its own process (intake/smtp_process.py, intake/smtp_child.py), over real sockets
and a real database: mail sent to the child becomes cases because the child wakes the parent's
processor; a killed child is replaced and health shows it; stop ends the child and frees the
port; a port in use fails the start naming the address; a SIGKILLed parent takes the child with
it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import smtplib
import socket
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import psutil
import pytest
from sqlalchemy import func, select

from cases.store.db import Database, make_engine
from kefu.bootstrap import Kefu, bootstrap
from kefu.parts import ALL, ListenError, Part, running, start
from cases.store.migrate import upgrade_async
from cases.store.models import Case, InboundMessage
from cases.settings import Settings, SettingsError
from cases.services.users import seed_departments
from intake.smtp_process import SmtpProcess, SmtpProcessError
from tests.conftest import ListTransport
from tests.mailhelpers import customer_mail, eventually, smtp_send

LONG_POLL = 120.0  # the processor's own poll: only the child's wake-up explains a quick case


@asynccontextmanager
async def served_apart(settings: Settings, **overrides: object) -> AsyncIterator[tuple[Kefu, SmtpProcess]]:
    settings = replace(settings, smtp_process=True, **overrides)  # type: ignore[arg-type]
    await upgrade_async(settings.sqlalchemy_url)
    kefu = bootstrap(settings, transport=ListTransport(), poll_seconds=LONG_POLL)
    await seed_departments(kefu.db)
    async with running(kefu) as started:
        child = started.servers[Part.SMTP]
        assert isinstance(child, SmtpProcess)
        yield kefu, child


async def _count(kefu: Kefu, model: type, *where: object) -> int:
    async with kefu.db.reader() as s:
        return (await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one()  # type: ignore[arg-type]


def _mail(n: int, tag: str = "apart") -> EmailMessage:
    return customer_mail(f"客户{n % 5} <c{n % 5}@dfmc-parts.cn>", f"密封圈漏油 {tag} {n}", f"零件号：3501-{n:05d}\n漏油。",
                         message_id=f"{tag}{n}@dfmc-parts.cn")


async def _smtp_health(kefu: Kefu) -> dict:  # type: ignore[type-arg]
    """The "smtp" part of GET /api/v1/health, over the socket (a thread: the server runs on this loop)."""
    host, port = kefu.settings.http_listen

    def get() -> dict:  # type: ignore[type-arg]
        with urllib.request.urlopen(f"http://{host}:{port}/api/v1/health", timeout=10) as resp:
            return json.load(resp)["smtp"]  # type: ignore[no-any-return]

    return await asyncio.to_thread(get)


async def _smtp_state(kefu: Kefu, state: str) -> dict | None:  # type: ignore[type-arg]
    health = await _smtp_health(kefu)
    return health if health["state"] == state else None


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def test_mail_to_the_smtp_process_becomes_cases_woken_by_the_child(settings: Settings) -> None:
    async with served_apart(settings) as (kefu, child):
        assert child.pid is not None and child.pid != os.getpid()
        assert child.port == kefu.settings.smtp_listen[1]
        listening = {c.laddr.port for c in psutil.Process(child.pid).net_connections("tcp") if c.status == "LISTEN"}
        assert child.port in listening, "the child, not the parent, listens on the SMTP port"
        await asyncio.sleep(0.5)  # the processor's first round at start is over: it now sleeps LONG_POLL
        started = time.monotonic()
        await smtp_send(child.port, _mail(0))
        await eventually(lambda: _count(kefu, Case), timeout=10, what="the case of the first mail")
        assert time.monotonic() - started < LONG_POLL / 4

        def stream(part: range) -> None:  # several sessions at once: both processes write the database
            with smtplib.SMTP("127.0.0.1", child.port, timeout=30) as c:
                for n in part:
                    c.send_message(_mail(n))

        await asyncio.gather(*(asyncio.to_thread(stream, range(1 + i, 81, 4)) for i in range(4)))

        async def done() -> bool:
            return (await _count(kefu, InboundMessage, InboundMessage.status == "pending") == 0
                    and await _count(kefu, Case) == 81)

        await eventually(done, timeout=30, what="81 cases")
        assert await _count(kefu, InboundMessage, InboundMessage.status == "quarantined") == 0
        assert (await _smtp_health(kefu))["state"] == "running"


async def test_a_killed_smtp_process_is_replaced_and_health_shows_it(settings: Settings) -> None:
    async with served_apart(settings) as (kefu, child):
        first = child.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        down = await eventually(lambda: _smtp_state(kefu, "restarting"), timeout=10,
                                what="health to show the restart")
        assert "SIGKILL" in down["error"] and str(first) in down["error"]
        up = await eventually(lambda: _smtp_state(kefu, "running"), timeout=30, what="a new SMTP process")
        assert up["pid"] != first and up["restarts"] == 1 and up["error"] is None
        assert not psutil.pid_exists(first)
        await smtp_send(child.port, _mail(1, "after-kill"))
        await eventually(lambda: _count(kefu, Case), timeout=10, what="a case from the new process")


async def test_a_hung_smtp_process_is_killed_and_replaced(settings: Settings) -> None:
    """A child that stops answering (here: SIGSTOP, as a stuck event loop) sends no heartbeat;
    after hung_seconds it is killed and a new one serves. Heartbeats alone wake nobody."""
    settings = replace(settings, smtp_process=True)
    await upgrade_async(settings.sqlalchemy_url)
    woken: list[float] = []
    child = SmtpProcess(settings, lambda: woken.append(time.monotonic()), heartbeat_seconds=0.1,
                        hung_seconds=1.0, backoff_first=0.1)
    await child.start()
    try:
        first = child.pid
        assert first is not None
        await asyncio.sleep(1.5)  # fifteen heartbeats, all heard
        assert child.status()["state"] == "running" and woken == []
        os.kill(first, signal.SIGSTOP)

        async def restarting() -> dict | None:  # type: ignore[type-arg]
            status = child.status()  # "restarting", then "starting" while the new one comes up
            return status if status["restarts"] == 0 and status["error"] else None

        down = await eventually(restarting, timeout=10, what="the silent child to be given up")
        assert f"pid {first}" in down["error"] and "SIGKILL" in down["error"]
        assert "without a sign of life" in down["error"]

        async def replaced() -> dict | None:  # type: ignore[type-arg]
            status = child.status()
            return status if status["state"] == "running" and status["restarts"] == 1 else None

        up = await eventually(replaced, timeout=30, what="a new SMTP process")
        assert up["pid"] != first and up["error"] is None and not psutil.pid_exists(first)
        await smtp_send(child.port, _mail(3, "after-hang"))
        await eventually(lambda: woken, timeout=10, what="the new child's wake-up")
    finally:
        await child.stop()
    db = Database(make_engine(settings.sqlalchemy_url))
    try:
        async with db.reader() as s:
            assert (await s.execute(select(func.count()).select_from(InboundMessage))).scalar_one() == 1
    finally:
        await db.dispose()


async def test_stop_ends_the_smtp_process_and_frees_its_port(settings: Settings) -> None:
    async with served_apart(settings) as (kefu, child):
        pid, port = child.pid, child.port
        await smtp_send(port, _mail(2, "stop"))
        assert pid is not None and psutil.pid_exists(pid)
    assert not psutil.pid_exists(pid), "the SMTP process outlived stop()"
    assert _port_is_free(port)
    assert kefu.channel_status["smtp"]()["state"] == "stopped"


@pytest.mark.parametrize("own_process", [True, False], ids=["smtp process", "in process"])
async def test_a_port_in_use_fails_the_start_naming_the_setting_and_the_address(
        settings: Settings, own_process: bool) -> None:
    settings = replace(settings, smtp_process=own_process)
    await upgrade_async(settings.sqlalchemy_url)
    kefu = bootstrap(settings, transport=ListTransport(), poll_seconds=LONG_POLL)
    host, port = settings.smtp_listen
    with socket.socket() as taken:
        taken.bind((host, port))
        taken.listen()
        with pytest.raises(ListenError) as raised:
            await start(kefu, ALL - {Part.WEB})  # what started before SMTP is stopped again
    assert f"KEFU_SMTP_LISTEN={host}:{port}" in str(raised.value)
    assert "address already in use" in str(raised.value)
    cause = raised.value.__cause__
    assert isinstance(cause, SmtpProcessError if own_process else OSError) and cause.errno == 98


async def test_a_busy_http_port_fails_the_start_naming_kefu_http_listen(settings: Settings) -> None:
    await upgrade_async(settings.sqlalchemy_url)
    kefu = bootstrap(settings, transport=ListTransport(), poll_seconds=LONG_POLL)
    host, port = settings.http_listen
    with socket.socket() as taken:
        taken.bind((host, port))
        taken.listen()
        with pytest.raises(ListenError, match=f"KEFU_HTTP_LISTEN={host}:{port}: cannot listen there"):
            await start(kefu, {Part.WEB})


def test_kefu_smtp_process_setting() -> None:
    assert Settings().smtp_process is Settings.from_env({}).smtp_process  # one default, in code and env
    assert Settings.from_env({"KEFU_SMTP_PROCESS": "auto"}).smtp_process is Settings().smtp_process
    assert Settings.from_env({"KEFU_SMTP_PROCESS": "on"}).smtp_process is True
    assert Settings.from_env({"KEFU_SMTP_PROCESS": "0"}).smtp_process is False
    assert Settings.from_env({}).smtp_process is ((os.cpu_count() or 1) >= 2)
    with pytest.raises(SettingsError, match="KEFU_SMTP_PROCESS"):
        Settings.from_env({"KEFU_SMTP_PROCESS": "sometimes"})


@pytest.mark.slow
def test_a_sigkilled_kefu_serve_takes_its_smtp_process_along(settings: Settings, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """And its parse worker, the fork server and the resource tracker: nothing is left."""
    if not settings.sqlalchemy_url.startswith("sqlite"):
        pytest.skip("the process tree is the same on PostgreSQL (test_crash runs both)")
    from tests.test_crash import _start

    monkeypatch.setenv("KEFU_SMTP_PROCESS", "on")
    monkeypatch.setenv("KEFU_PARSE_WORKERS", "1")
    log = tmp_path / "serve.log"
    proc, settings = _start(settings, log)
    try:
        def parse_worker() -> list[psutil.Process]:
            return [p for p in psutil.Process(proc.pid).children(recursive=True)
                    if "forkserver" in " ".join(p.cmdline()) and p.ppid() != proc.pid]

        deadline = time.monotonic() + 30
        while not parse_worker() and time.monotonic() < deadline:  # started with the service
            time.sleep(0.05)
        descendants = psutil.Process(proc.pid).children(recursive=True)
        assert parse_worker(), descendants
        children = [c for c in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(c.cmdline())]
        smtp = [c for c in children if any(n.laddr.port == settings.smtp_listen[1] and n.status == "LISTEN"
                                           for n in c.net_connections("tcp"))]
        assert len(smtp) == 1, children
        # The child logs to the same stderr, in the same format as `kefu serve`.
        text = log.read_text()
        assert " INFO intake.smtp: SMTP intake listening on 127.0.0.1:%d" % settings.smtp_listen[1] in text
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    deadline = time.monotonic() + 10
    while smtp[0].is_running() and smtp[0].status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not smtp[0].is_running() or smtp[0].status() == psutil.STATUS_ZOMBIE, "the SMTP process outlived kefu"
    assert _port_is_free(settings.smtp_listen[1])

    def left() -> list[str]:
        return [" ".join(p.cmdline())[:120] for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]

    while left() and time.monotonic() < deadline + 10:
        time.sleep(0.05)
    assert not left(), "outlived the SIGKILLed kefu serve"
    assert "the kefu process is gone; stopping" in log.read_text()
