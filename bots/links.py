"""Signed, single-use /start deep links: `https://t.me/<bot>?start=<token>` binds a chat to a
customer contact or to a staff account.

The token is `<c|u><id>_<nonce>_<signature>` (Telegram allows 64 characters of [A-Za-z0-9_-]);
the HMAC keeps anyone from forging one, the stored row makes it single-use and short-lived.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bots.texts import TEXTS
from cases.domain.clock import Clock
from cases.domain.errors import CaseError, NotFound
from cases.store.db import Database
from cases.store.models import Contact, TelegramLinkToken, User

log = logging.getLogger(__name__)

KINDS = {"c": "contact", "u": "user"}
_TOKEN = re.compile(r"^([cu])(\d{1,18})_([0-9a-f]{12})_([a-z2-7]{16})$")
TOKEN_LIFETIME = timedelta(days=7)


class LinkRefused(CaseError):
    """The token is not ours, used already or expired: the person is told, nothing changes."""

    code = "link_refused"

    def __init__(self, reason: str) -> None:
        zh, en = TEXTS[f"link_{reason}"]  # the sentence the person is shown, in both languages
        super().__init__(en, zh=zh)
        self.reason = reason  # "invalid", "used", "expired": a key of the bot's texts


@dataclass(frozen=True, slots=True)
class Redeemed:
    kind: str  # "contact" or "user"
    target_id: int


class LinkTokens:
    def __init__(self, db: Database, secret: str, clock: Clock, bot_username: str) -> None:
        self.db = db
        self._key = secret.encode()
        self.clock = clock
        self.bot_username = bot_username  # may be learnt from getMe after start

    def _sig(self, body: str) -> str:
        mac = hmac.new(self._key, f"tg-link:{body}".encode(), hashlib.sha256).digest()
        return base64.b32encode(mac).decode().lower()[:16]

    def url(self, token: str) -> str:
        return f"https://t.me/{self.bot_username or 'kefu_bot'}?start={token}"

    async def contact_link(self, contact_id: int, created_by: str) -> str:
        async with self.db.reader() as s:
            if await s.get(Contact, contact_id) is None:
                raise NotFound(f"no contact {contact_id}", zh=f"联系人 {contact_id} 不存在")
        return self.url(await self._create("c", contact_id, created_by))

    async def user_link(self, user_id: int, created_by: str) -> str:
        async with self.db.reader() as s:
            if await s.get(User, user_id) is None:
                raise NotFound(f"no user {user_id}", zh=f"用户 {user_id} 不存在")
        return self.url(await self._create("u", user_id, created_by))

    async def _create(self, kind: str, target_id: int, created_by: str) -> str:
        nonce = secrets.token_hex(6)
        body = f"{kind}{target_id}_{nonce}"
        now = self.clock()
        async with self.db.unit_of_work() as s:
            s.add(
                TelegramLinkToken(
                    nonce=nonce,
                    kind=KINDS[kind],
                    target_id=target_id,
                    created_by=created_by,
                    created_at=now,
                    expires_at=now + TOKEN_LIFETIME,
                )
            )
        log.info("telegram link for %s %d made by %s", KINDS[kind], target_id, created_by)
        return f"{body}_{self._sig(body)}"

    async def redeem(self, s: AsyncSession, token: str, chat_id: int, now: datetime) -> Redeemed:
        """Within the caller's unit of work, so that the binding and the use commit together."""
        match = _TOKEN.match(token.strip())
        if not match:
            raise LinkRefused("invalid")
        kind, target, nonce, sig = match.groups()
        if not hmac.compare_digest(sig, self._sig(f"{kind}{target}_{nonce}")):
            raise LinkRefused("invalid")
        row = (await s.execute(select(TelegramLinkToken).where(TelegramLinkToken.nonce == nonce))).scalar_one_or_none()
        if row is None or row.kind != KINDS[kind] or row.target_id != int(target):
            raise LinkRefused("invalid")
        if row.used_at is not None:
            raise LinkRefused("used")
        if row.expires_at <= now:
            raise LinkRefused("expired")
        # The conditional UPDATE is the single-use guarantee when two instances race.
        done = await s.execute(
            update(TelegramLinkToken)
            .where(TelegramLinkToken.id == row.id, TelegramLinkToken.used_at.is_(None))
            .values(used_at=now, used_chat_id=chat_id)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise LinkRefused("used")
        return Redeemed(row.kind, row.target_id)
