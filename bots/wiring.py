"""Builds the bot's parts from settings; called by the composition root (kefu/bootstrap.py) only
when KEFU_TELEGRAM_TOKEN is set."""

from __future__ import annotations

from sqlalchemy import select
from telegram.ext import Application, ApplicationBuilder

from bots.app import DOWNLOAD_LIMIT, TelegramBot
from bots.channel import TelegramChannel
from bots.deps import Deps
from bots.links import LinkTokens
from bots.sender import Limiter, Sender
from bots.updates import UpdateStore
from cases.domain.clock import Clock
from cases.domain.enums import Channel
from cases.domain.meter import NO_METER, Meter
from cases.domain.tokens import Signer
from cases.services.case_service import CaseService
from cases.settings import Settings
from cases.store.db import Database
from cases.store.models import Case, Identity


def file_url(api_url: str) -> str:
    """https://api.telegram.org/bot -> https://api.telegram.org/file/bot (also for a local server)."""
    base = api_url.rstrip("/")
    head, sep, tail = base.rpartition("/")
    return f"{head}/file/{tail}" if sep else base + "/file/bot"


def build_application(settings: Settings) -> Application:  # type: ignore[type-arg]
    return (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(file_url(settings.telegram_api_url))
        .updater(None)
        .build()
    )


class TelegramParts:
    """The sender and link tokens exist before the case service (the dispatcher needs the
    channel); the bot itself is made once the service exists."""

    def __init__(self, settings: Settings, db: Database, clock: Clock, signer: Signer, meter: Meter = NO_METER) -> None:
        self.settings = settings
        self.meter = meter
        self.application = build_application(settings)
        self.sender = Sender(
            self.application.bot, Limiter(settings.telegram_per_second, settings.telegram_per_chat_seconds)
        )
        self.links = LinkTokens(db, settings.secret_key, clock, settings.telegram_bot_username)
        self.channel = TelegramChannel(db, clock, self.sender, signer, settings.mail_domains[0])
        self.db = db
        self.clock = clock

    async def invite(self, case: Case) -> dict[str, str]:
        """For the acknowledgement mail: a single-use link that binds the customer's chat to
        their contact, unless they already follow us by chat."""
        async with self.db.reader() as s:
            bound = (
                await s.execute(
                    select(Identity.id)
                    .where(
                        Identity.contact_id == case.contact_id,
                        Identity.kind == Channel.TELEGRAM,
                        Identity.active.is_(True),
                    )
                    .limit(1)
                )
            ).first()
        if bound is not None:
            return {"telegram_link": ""}
        return {
            "telegram_link": await self.links.contact_link(
                case.contact_id, created_by=f"acknowledgement {case.reference}"
            )
        }

    def bot(self, service: CaseService, poll_seconds: float) -> TelegramBot:
        deps = Deps(self.db, service, self.clock, self.application.bot, self.sender, self.links, DOWNLOAD_LIMIT)
        return TelegramBot(
            self.settings, self.application, deps, UpdateStore(self.db, self.clock, self.meter), poll_seconds
        )
