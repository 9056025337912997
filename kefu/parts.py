"""The parts a kefu process runs, each an async context: started in order, stopped in reverse.

    async with running(kefu):                      # everything (what `kefu serve` runs)
    async with running(kefu, {Part.WEB}):          # the web alone (`kefu serve --only web`)

The base under every part holds the inbox writer, the parse workers and the database engine.
The order of `Part` is the start order: the listening edges first, so that a port that is taken
fails the start before any worker has a query in flight; the workers last. On stop the workers
go first, then the edges (an SMTP session still open finishes storing: the inbox is in the
base), then the base with the engine.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from enum import StrEnum
from typing import Protocol

from aiohttp import web

from cases.reports.reminders import ROUND_SECONDS
from cases.services.wakeup import run_rounds
from cases.settings import Settings, SettingsError
from kefu.bootstrap import Kefu, bootstrap

log = logging.getLogger(__name__)

SMTP_CLOSE_SECONDS = 10  # an SMTP client idling in its session does not hold the shutdown longer


class Part(StrEnum):
    SMTP = "smtp"  # SMTP intake on KEFU_SMTP_LISTEN
    WEB = "web"  # REST API (and the Telegram webhook) on KEFU_HTTP_LISTEN
    IMAP = "imap"  # only where KEFU_IMAP_URL is set
    TELEGRAM = "telegram"  # only where KEFU_TELEGRAM_TOKEN is set
    WORKERS = (
        "workers"  # mail processor, notice dispatcher, timers, document reader, early-warning scan, report reminder
    )


ALL: frozenset[Part] = frozenset(Part)


class ListenError(SettingsError):
    """A part cannot listen where its setting says (the port is taken, the address is not
    this machine's): one line that names the setting, for the person starting kefu."""

    def __init__(self, setting: str, address: tuple[str, int], cause: OSError) -> None:
        reason = cause.strerror or str(cause)
        super().__init__(
            f"{setting}={address[0]}:{address[1]}: cannot listen there: {reason.lower()}; is another "
            f"kefu or another server running there? Stop it or set {setting} to a free HOST:PORT"
        )


def parse_parts(text: str) -> frozenset[Part]:
    """`web` or `smtp,workers` (the --only flag of `kefu serve`)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in Part.__members__.values()]
    if unknown or not names:
        raise ValueError(f"unknown part {', '.join(unknown) or '(none)'}; the parts are {', '.join(Part)}")
    return frozenset(Part(n) for n in names)


@asynccontextmanager
async def _base(kefu: Kefu) -> AsyncIterator[None]:
    await kefu.inbox.start()
    try:
        yield
    finally:
        await kefu.inbox.stop()
        kefu.processor.pool.close()
        await kefu.db.dispose()


@asynccontextmanager
async def _workers(kefu: Kefu) -> AsyncIterator[None]:
    tasks = [
        asyncio.create_task(kefu.processor.run(), name="processor"),
        asyncio.create_task(kefu.dispatcher.run(), name="dispatcher"),
        # Timers: a round every few minutes (an event nobody sets: they are never woken early).
        asyncio.create_task(
            run_rounds(
                kefu.service.run_satisfaction_timers, asyncio.Event(), 600, "satisfaction timers", kefu.db.health
            ),
            name="timers",
        ),
        asyncio.create_task(
            run_rounds(kefu.service.run_deadline_timers, asyncio.Event(), 300, "deadline timers", kefu.db.health),
            name="deadline timers",
        ),
        asyncio.create_task(
            run_rounds(kefu.service.run_due_step_timers, asyncio.Event(), 300, "agreed step timers", kefu.db.health),
            name="agreed step timers",
        ),
        asyncio.create_task(kefu.documents.run(), name="document reader"),
    ]
    if kefu.settings.early_warning_scan_seconds > 0:  # KEFU_EARLY_WARNING_SCAN_SECONDS=0 turns it off
        tasks.append(
            asyncio.create_task(
                run_rounds(
                    kefu.early_warning.run_round,
                    asyncio.Event(),
                    kefu.settings.early_warning_scan_seconds,
                    "early-warning scan",
                ),
                name="early-warning scan",
            )
        )
    if kefu.settings.report_reminder_days > 0:  # KEFU_REPORT_REMINDER_DAYS=0 turns it off
        tasks.append(
            asyncio.create_task(
                run_rounds(
                    kefu.report_reminders.run_round, asyncio.Event(), ROUND_SECONDS, "report reminder", kefu.db.health
                ),
                name="report reminder",
            )
        )
    kefu.processor.pool.warm_up()
    kefu.processor.wake()
    kefu.dispatcher.wake()
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _Startable(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@asynccontextmanager
async def _started(part: _Startable | None) -> AsyncIterator[None]:
    """A part that may be off (None: its setting is not set) and otherwise starts and stops itself."""
    if part is None:
        yield
        return
    await part.start()
    try:
        yield
    finally:
        await part.stop()


@asynccontextmanager
async def _web(kefu: Kefu, with_webhook: bool) -> AsyncIterator[object]:
    from kefu.web.app import create_app, web_services

    app = create_app(web_services(kefu))
    if with_webhook and kefu.telegram is not None:
        from bots.webhook import add_webhook_route

        add_webhook_route(app, kefu.telegram)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        host, port = kefu.settings.http_listen
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            raise ListenError("KEFU_HTTP_LISTEN", (host, port), exc) from exc
        log.info("HTTP API and console listening on http://%s:%d/ (API under /api/v1)", host, port)
        yield runner
    finally:
        await runner.cleanup()


@asynccontextmanager
async def _smtp(kefu: Kefu) -> AsyncIterator[object]:
    from intake.smtp import close_smtp_server, start_smtp_server

    try:
        server = await start_smtp_server(kefu.inbox, kefu.settings, kefu.metrics)
    except OSError as exc:
        raise ListenError("KEFU_SMTP_LISTEN", kefu.settings.smtp_listen, exc) from exc
    try:
        yield server
    finally:
        await close_smtp_server(server, SMTP_CLOSE_SECONDS)


def _context(kefu: Kefu, part: Part, parts: frozenset[Part]) -> AbstractAsyncContextManager[object]:
    if part is Part.WEB:
        return _web(kefu, with_webhook=Part.TELEGRAM in parts)
    contexts: dict[Part, Callable[[Kefu], AbstractAsyncContextManager[object]]] = {
        Part.WORKERS: _workers,
        Part.IMAP: lambda kefu: _started(kefu.imap),
        Part.TELEGRAM: lambda kefu: _started(kefu.telegram),
        Part.SMTP: _smtp,
    }
    return contexts[part](kefu)


class Running:
    """The started parts of one kefu; `stop` stops them in reverse order. `servers` holds what a
    part serves with, for callers that look at it: the SMTP server under Part.SMTP, the web
    runner under Part.WEB, None for the others."""

    def __init__(self, servers: dict[Part, object], stack: AsyncExitStack) -> None:
        self.servers = servers
        self._stack = stack

    async def stop(self) -> None:
        await self._stack.aclose()


async def start(kefu: Kefu, parts: Iterable[Part | str] = ALL) -> Running:
    """Start the chosen parts (in the order of `Part`); if one fails, the ones started before it
    are stopped again and the error is raised."""
    chosen = frozenset(Part(p) for p in parts)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(_base(kefu))
        servers = {
            part: await stack.enter_async_context(_context(kefu, part, chosen)) for part in Part if part in chosen
        }
        return Running(servers, stack.pop_all())
    raise AssertionError("unreachable")  # pragma: no cover (the stack re-raises what failed)


@asynccontextmanager
async def running(kefu: Kefu, parts: Iterable[Part | str] = ALL) -> AsyncIterator[Running]:
    """`start` as a context: the parts run inside the block and are stopped when it ends."""
    started = await start(kefu, parts)
    try:
        yield started
    finally:
        await started.stop()


async def serve(settings: Settings, parts: Iterable[Part | str] = ALL) -> None:
    """Build, start the parts, run until SIGINT or SIGTERM, stop in reverse."""
    kefu = bootstrap(settings)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    async with running(kefu, parts):
        await stopped.wait()
        log.info("stopping")
