"""The composition root: the one place that builds kefu's parts and wires them together.

`bootstrap` builds everything and starts nothing; kefu/parts.py starts the parts a process
runs and stops them in reverse. The built `Kefu` is frozen: nothing is wired after it exists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cases.archive.admin import ArchiveService
from cases.domain.clock import Clock, utcnow
from cases.domain.meter import Meter
from cases.domain.tokens import Signer
from cases.field.alerts import EarlyWarning
from cases.reports.reminders import ReportReminders
from cases.services.account_trail import AccountTrail
from cases.services.case_service import CaseService
from cases.services.departments import Departments
from cases.services.documents import DocumentTexts
from cases.services.entries import EntryService
from cases.services.passwords import Passwords
from cases.services.sessions import ConsoleAuth
from cases.services.users import Users
from cases.settings import Settings
from cases.store.db import Database, make_engine
from intake.doctext import DocTextReader
from intake.fax_rules import site_rules
from intake.imap_config import imap_config
from intake.inbox import Inbox
from intake.parse_pool import ParsePool
from intake.processor import MailProcessor
from kefu.metrics import Metrics
from notifications.dispatcher import ChannelSender, ContextExtra, Dispatcher
from notifications.render import Renderer
from notifications.transports import MailTransport, transport_from_url

if TYPE_CHECKING:
    from bots.app import TelegramBot
    from bots.links import LinkTokens
    from bots.wiring import TelegramParts
    from intake.imap import ImapPoller

log = logging.getLogger(__name__)

# name -> status of a channel, shown by GET /api/v1/health (e.g. "imap", "smtp")
ChannelStatus = dict[str, Callable[[], dict[str, Any]]]


@dataclass(frozen=True)
class Kefu:
    """Every part of one kefu instance, built and wired, none of them started."""

    settings: Settings
    db: Database
    clock: Clock
    signer: Signer
    service: CaseService
    users: Users
    inbox: Inbox
    processor: MailProcessor
    dispatcher: Dispatcher
    entries: EntryService  # fax, phone, letter, visit and survey entries
    archive: ArchiveService
    documents: DocumentTexts  # text read from faxes and scans after their case is stored
    poll_seconds: float
    # The Prometheus registry of this process; the adapters above count through it (its `Meter`).
    metrics: Metrics
    # The early-warning scan over the field data (cases/field/, docs/field-data.md)
    early_warning: EarlyWarning
    # Sales hear when a quarter's marketing summary report is due and not issued (docs/reports.md)
    report_reminders: ReportReminders
    console_auth: ConsoleAuth  # console sign-in, sessions and set-up links
    departments: Departments  # kept by admins (console /departments, kefu department)
    account_trail: AccountTrail  # who changed which staff account (console /users, kefu user history)
    imap: ImapPoller | None = None  # only when KEFU_IMAP_URL is set
    telegram: TelegramBot | None = None  # only when KEFU_TELEGRAM_TOKEN is set
    telegram_links: LinkTokens | None = None
    # Read by the health endpoint: each channel that has a state of its own reports it.
    channel_status: ChannelStatus = field(default_factory=dict)


def bootstrap(
    settings: Settings, *, clock: Clock = utcnow, transport: MailTransport | None = None, poll_seconds: float = 5.0
) -> Kefu:
    """Build every part of kefu from `settings`. A bad KEFU_IMAP_URL fails here, before anything runs."""
    settings = settings.with_secret().with_instance_id()
    db = Database(make_engine(settings.sqlalchemy_url, sqlite_busy_seconds=settings.sqlite_busy_seconds))
    signer = Signer(settings.secret_key, settings.reply_token_days)
    metrics = Metrics()
    senders: dict[str, ChannelSender] = {}
    extras: dict[tuple[str, str, str], ContextExtra] = {}
    telegram = _telegram_parts(settings, db, clock, signer, senders, extras, metrics)
    dispatcher = Dispatcher(
        db,
        settings,
        signer,
        clock,
        transport or transport_from_url(settings.outgoing_smtp, settings.outgoing_folder),
        Renderer(),
        poll_seconds=poll_seconds,
        senders=senders,
        context_extras=extras,
        meter=metrics,
    )
    service = CaseService(db, settings, signer, clock, on_commit=dispatcher.wake)
    processor = MailProcessor(
        db,
        service,
        clock,
        settings.reference_prefix,
        poll_seconds=poll_seconds,
        pool=ParsePool(settings.parse_workers, settings.reference_prefix, site_rules(settings.fax_gateways)),
        meter=metrics,
    )
    inbox = Inbox(db, clock, on_stored=processor.wake, meter=metrics)
    reader = DocTextReader(settings.ocr_languages, settings.ocr_timeout_seconds)
    imap = _imap_poller(settings, db, clock, inbox, metrics)
    passwords = Passwords.from_settings(settings)
    return Kefu(
        settings=settings,
        db=db,
        clock=clock,
        signer=signer,
        service=service,
        users=Users(db, clock, passwords),
        inbox=inbox,
        processor=processor,
        dispatcher=dispatcher,
        entries=EntryService(db, service, clock),
        archive=ArchiveService(db, clock),
        documents=DocumentTexts(db, clock, reader.read, poll_seconds=poll_seconds),
        poll_seconds=poll_seconds,
        metrics=metrics,
        early_warning=EarlyWarning(
            db,
            clock,
            settings.tz,
            settings.early_warning_window_days,
            settings.early_warning_baseline_days,
            on_commit=dispatcher.wake,
        ),
        report_reminders=ReportReminders(
            db, clock, settings.tz, settings.report_reminder_days, on_commit=dispatcher.wake
        ),
        console_auth=ConsoleAuth(db, clock, settings, passwords),
        departments=Departments(db, clock),
        account_trail=AccountTrail(db),
        imap=imap,
        telegram=telegram.bot(service, poll_seconds) if telegram else None,
        telegram_links=telegram.links if telegram else None,
        channel_status={"imap": imap.status} if imap else {},
    )


def _telegram_parts(
    settings: Settings,
    db: Database,
    clock: Clock,
    signer: Signer,
    senders: dict[str, ChannelSender],
    extras: dict[tuple[str, str, str], ContextExtra],
    meter: Meter,
) -> TelegramParts | None:
    """The Telegram delivery channel for the dispatcher, and the bot's parts when
    KEFU_TELEGRAM_TOKEN is set (the bot itself is made once the case service exists)."""
    from bots.channel import TelegramChannel

    if not settings.telegram_token:
        # Chats bound while the bot was on still get their notices, by email.
        senders["telegram"] = TelegramChannel(db, clock, None, signer, settings.mail_domains[0])
        return None
    from bots.wiring import TelegramParts

    parts = TelegramParts(settings, db, clock, signer, meter)
    senders["telegram"] = parts.channel
    extras[("customer", "case_opened", "email")] = parts.invite
    return parts


def _imap_poller(settings: Settings, db: Database, clock: Clock, inbox: Inbox, meter: Meter) -> ImapPoller | None:
    """The IMAP mailbox poller, only when KEFU_IMAP_URL is set (a bad URL fails here, at start)."""
    config = imap_config(settings)
    if config is None:
        return None
    from intake.imap import ImapPoller
    from intake.imap_cursor import CursorStore
    from intake.imap_oversize import OversizeReporter

    return ImapPoller(config, inbox, CursorStore(db, clock), OversizeReporter(db, clock), clock, meter=meter)
