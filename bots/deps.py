"""What the bot's handlers need, handed in by the composition root (no globals)."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Bot

from bots.links import LinkTokens
from bots.sender import Sender
from cases.domain.clock import Clock
from cases.services.case_service import CaseService
from cases.store.db import Database


@dataclass(frozen=True, slots=True)
class Deps:
    db: Database
    service: CaseService
    clock: Clock
    bot: Bot
    sender: Sender
    links: LinkTokens
    download_limit: int  # bytes getFile may fetch (20 MB on the public Bot API)
