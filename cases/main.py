"""The composition root: the one place that builds and wires kefu's parts."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from aiohttp import web

from cases.archive_admin import ArchiveService
from cases.clock import Clock, utcnow
from cases.document_reader import DocumentTexts
from cases.entries import EntryService
from cases.db import Database, make_engine
from cases.service import CaseService
from cases.settings import Settings
from cases.tokens import Signer
from cases.users import Users
from cases.wakeup import run_rounds
from intake.fax_rules import site_rules
from intake.inbox import Inbox
from intake.parse_pool import ParsePool
from intake.processor import MailProcessor
from notifications.dispatcher import Dispatcher
from notifications.render import Renderer
from notifications.transports import MailTransport, transport_from_url

if TYPE_CHECKING:
    from bots.app import TelegramBot
    from bots.links import LinkTokens
    from intake.imap import ImapPoller

log = logging.getLogger(__name__)

SMTP_CLOSE_SECONDS = 10


@dataclass
class Kefu:
    settings: Settings
    db: Database
    clock: Clock
    signer: Signer
    service: CaseService
    users: Users
    inbox: Inbox
    processor: MailProcessor
    dispatcher: Dispatcher
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    imap: ImapPoller | None = None  # only when KEFU_IMAP_URL is set
    # name -> status of a channel, shown by GET /api/v1/health (e.g. "imap")
    channel_status: dict[str, Callable[[], dict[str, Any]]] = field(default_factory=dict)
    # Fax, phone, letter, visit, survey and the archive (wired by _wire_channels)
    entries: EntryService = field(init=False)
    archive: ArchiveService = field(init=False)
    documents: DocumentTexts = field(init=False)
    telegram: TelegramBot | None = None  # only when KEFU_TELEGRAM_TOKEN is set
    telegram_links: LinkTokens | None = None


def bootstrap(settings: Settings, *, clock: Clock = utcnow, transport: MailTransport | None = None,
              poll_seconds: float = 5.0) -> Kefu:
    settings = settings.with_secret()
    db = Database(make_engine(settings.sqlalchemy_url))
    signer = Signer(settings.secret_key)
    transport = transport or transport_from_url(settings.outgoing_smtp, settings.outgoing_folder)
    dispatcher = Dispatcher(db, settings, signer, clock, transport, Renderer(), poll_seconds=poll_seconds)
    service = CaseService(db, settings, signer, clock, on_commit=dispatcher.wake)
    processor = MailProcessor(db, service, clock, settings.reference_prefix, poll_seconds=poll_seconds,
                              pool=ParsePool(settings.parse_workers, settings.reference_prefix,
                                             site_rules(settings.fax_gateways)))
    inbox = Inbox(db, clock, on_stored=processor.wake)
    kefu = Kefu(settings, db, clock, signer, service, Users(db, clock), inbox, processor, dispatcher)
    _wire_imap(kefu)
    _wire_channels(kefu, poll_seconds)
    _wire_telegram(kefu, poll_seconds)
    return kefu


def _wire_telegram(kefu: Kefu, poll_seconds: float) -> None:
    """The Telegram bot and its delivery channel, only when KEFU_TELEGRAM_TOKEN is set."""
    if not kefu.settings.telegram_token:
        from notifications.telegram import TelegramChannel

        # Chats bound while the bot was on still get their notices, by email.
        kefu.dispatcher.senders["telegram"] = TelegramChannel(kefu.db, kefu.clock, None, kefu.signer,
                                                              kefu.settings.mail_domains[0])
        return
    from bots.wiring import TelegramParts

    parts = TelegramParts(kefu.settings, kefu.db, kefu.clock, kefu.signer)
    kefu.dispatcher.senders["telegram"] = parts.channel
    kefu.dispatcher.context_extras[("customer", "case_opened", "email")] = parts.invite
    kefu.telegram = parts.bot(kefu.service, poll_seconds)
    kefu.telegram_links = parts.links



def _wire_channels(kefu: Kefu, poll_seconds: float) -> None:
    """Staff-logged entries, the archive, and reading faxes after their case is stored."""
    from intake.doctext import DocTextReader

    kefu.entries = EntryService(kefu.db, kefu.service, kefu.clock)
    kefu.archive = ArchiveService(kefu.db, kefu.clock)
    reader = DocTextReader(kefu.settings.ocr_languages, kefu.settings.ocr_timeout_seconds)
    kefu.documents = DocumentTexts(kefu.db, kefu.clock, reader.read, poll_seconds=poll_seconds)


def _wire_imap(kefu: Kefu) -> None:
    """The IMAP mailbox poller, only when KEFU_IMAP_URL is set (a bad URL fails here, at start)."""
    from intake.imap_config import imap_config

    config = imap_config(kefu.settings)
    if config is None:
        return
    from intake.imap import ImapPoller
    from intake.imap_cursor import CursorStore
    from intake.imap_oversize import OversizeReporter

    kefu.imap = ImapPoller(config, kefu.inbox, CursorStore(kefu.db, kefu.clock),
                           OversizeReporter(kefu.db, kefu.clock), kefu.clock)
    kefu.channel_status["imap"] = kefu.imap.status


async def start(kefu: Kefu, *, smtp: bool = True, http: bool = True) -> list[object]:
    """Start every part; returns the servers so that callers (tests) can read their ports."""
    from intake.smtp import start_smtp_server

    s = kefu.settings
    await kefu.inbox.start()
    servers: list[object] = []
    if smtp and s.smtp_process:  # SMTP sessions and the raw store on the other core
        from intake.smtp_process import SmtpProcess

        smtp_process = SmtpProcess(s, kefu.processor.wake, close_seconds=SMTP_CLOSE_SECONDS)
        kefu.channel_status["smtp"] = smtp_process.status
        await smtp_process.start()
        servers.append(smtp_process)
    elif smtp:
        servers.append(await start_smtp_server(kefu.inbox, s))
    if http:
        from cases.web.app import create_app

        app = create_app(kefu)
        if kefu.telegram is not None:
            from bots.webhook import add_webhook_route

            add_webhook_route(app, kefu.telegram)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, s.http_listen[0], s.http_listen[1])
        await site.start()
        servers.append(runner)
        log.info("HTTP API listening on http://%s:%d/api/v1", *s.http_listen)
    kefu.tasks += [
        asyncio.create_task(kefu.processor.run(), name="processor"),
        asyncio.create_task(kefu.dispatcher.run(), name="dispatcher"),
        # Timers: a round every few minutes (an event nobody sets: they are never woken early).
        asyncio.create_task(run_rounds(kefu.service.run_satisfaction_timers, asyncio.Event(), 600,
                                       "satisfaction timers"), name="timers"),
        asyncio.create_task(run_rounds(kefu.service.run_deadline_timers, asyncio.Event(), 300,
                                       "deadline timers"), name="deadline timers"),
        asyncio.create_task(kefu.documents.run(), name="document reader"),
    ]
    kefu.processor.pool.warm_up()
    kefu.processor.wake()
    kefu.dispatcher.wake()
    if kefu.imap is not None:
        await kefu.imap.start()
    if kefu.telegram is not None:
        await kefu.telegram.start()
    return servers


async def stop(kefu: Kefu, servers: list[object]) -> None:
    from intake.smtp import close_smtp_server
    from intake.smtp_process import SmtpProcess

    for server in servers:
        if isinstance(server, SmtpProcess):
            await server.stop()
        elif isinstance(server, web.AppRunner):
            await server.cleanup()
        elif isinstance(server, asyncio.base_events.Server):
            await close_smtp_server(server, SMTP_CLOSE_SECONDS)
    if kefu.telegram is not None:
        await kefu.telegram.stop()
    for task in kefu.tasks:
        task.cancel()
    if kefu.imap is not None:
        await kefu.imap.stop()
    await asyncio.gather(*kefu.tasks, return_exceptions=True)
    kefu.tasks.clear()
    await kefu.inbox.stop()
    kefu.processor.pool.close()
    await kefu.db.dispose()


async def serve(settings: Settings) -> None:
    kefu = bootstrap(settings)
    servers = await start(kefu)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    await stopped.wait()
    log.info("stopping")
    await stop(kefu, servers)
