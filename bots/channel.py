"""The Telegram delivery channel: notices to customers' chats and push notices to staff chats.

A chat whose user blocked the bot (Forbidden) is marked inactive; a customer notice then falls
back to the next channel of the reply-channel table (notifications/reply_channel.py), which is
email. Staff push notices come in addition to their email, for the templates in
notifications/staff_chats.py. The dispatcher knows this channel only as a ChannelSender.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bots.send_errors import ChatBlocked, SendLater, SendRefused
from cases.domain.clock import Clock
from cases.domain.enums import CaseState, Channel, Language
from cases.domain.tokens import Signer
from cases.store.db import Database
from cases.store.models import (
    Case,
    Delivery,
    DeliveryStatus,
    Department,
    Identity,
    ServiceReport,
    TelegramStaffChat,
)
from cases.store.upsert import insert_ignore
from notifications.email_out import make_message_id
from notifications.render import Rendered
from notifications.reply_channel import customer_targets
from notifications.transports import PermanentSendError, TransientSendError

if TYPE_CHECKING:  # python-telegram-bot is loaded only when a bot sends (KEFU_TELEGRAM_TOKEN)
    from telegram import InlineKeyboardMarkup

    from bots.sender import Sender

    Keyboard = Callable[[AsyncSession, Case, str], Awaitable[InlineKeyboardMarkup | None]]

log = logging.getLogger(__name__)


async def _rating(s: AsyncSession, case: Case, language: str) -> InlineKeyboardMarkup | None:
    from bots import keyboards

    return keyboards.rating(case.reference, language) if case.state == CaseState.AWAITING_SATISFACTION else None


async def _approval(s: AsyncSession, case: Case, language: str) -> InlineKeyboardMarkup | None:
    if case.state != CaseState.NEW:
        return None  # decided meanwhile: no buttons that can only fail
    from bots import keyboards

    depts = (await s.execute(select(Department).where(Department.active).order_by(Department.id))).scalars()
    return keyboards.approval(
        case.reference, language, [(d.code, d.name_en if language == "en" else d.name_zh) for d in depts]
    )


async def _report_confirmation(s: AsyncSession, case: Case, language: str) -> InlineKeyboardMarkup | None:
    """The buttons of the service report waiting for the customer's confirmation (the newest)."""
    report_id = (
        await s.execute(
            select(ServiceReport.id)
            .where(ServiceReport.case_id == case.id, ServiceReport.state == "reviewed")
            .order_by(ServiceReport.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    from bots import keyboards

    return keyboards.report_confirmation(report_id, language) if report_id is not None else None


# (audience, template) -> the buttons under the notice
KEYBOARDS: dict[tuple[str, str], Keyboard] = {
    ("customer", "reply"): _rating,
    ("customer", "satisfaction_reminder"): _rating,
    ("customer", "service_confirmation"): _report_confirmation,
    ("staff", "approval_needed"): _approval,
}


class TelegramChannel:
    """`sender` None: the bot is off (no token); customer notices for a chat go by email instead."""

    def __init__(self, db: Database, clock: Clock, sender: Sender | None, signer: Signer, mail_domain: str) -> None:
        self.db = db
        self.clock = clock
        self.sender = sender
        self.signer = signer
        self.mail_domain = mail_domain

    async def send(self, d: Delivery, case: Case | None, rendered: Rendered) -> None:
        """Raises the dispatcher's PermanentSendError / TransientSendError. `case` is None for a
        staff notice about no case (a report falling due): no buttons, no fallback to compute."""
        if self.sender is None:
            fallback = "staff email goes anyway"
            if d.audience == "customer" and case is not None:
                async with self.db.unit_of_work() as s:
                    fallback = await self._fall_back(s, d, case)
            raise PermanentSendError(f"the Telegram bot is off (no KEFU_TELEGRAM_TOKEN); {fallback}")
        keyboard = KEYBOARDS.get((d.audience, d.template))
        markup = None
        if keyboard is not None and case is not None:
            async with self.db.reader() as s:
                markup = await keyboard(s, await s.get(Case, case.id) or case, d.language)
        try:
            await self.sender.message(int(d.recipient), rendered.body, markup)
        except ChatBlocked as exc:
            fallback = await self._blocked(d, case)
            raise PermanentSendError(f"the chat blocked the bot ({exc}); {fallback}") from exc
        except SendLater as exc:
            raise TransientSendError(str(exc)) from exc
        except SendRefused as exc:
            raise PermanentSendError(str(exc)) from exc

    async def _blocked(self, d: Delivery, case: Case | None) -> str:
        async with self.db.unit_of_work() as s:
            if d.audience != "customer" or case is None:
                await s.execute(
                    update(TelegramStaffChat).where(TelegramStaffChat.chat_id == int(d.recipient)).values(active=False)
                )
                log.warning(
                    "%s: staff chat blocked the bot; marked inactive (email still goes)",
                    case.reference if case is not None else d.template,
                )
                return "staff chat marked inactive"
            await s.execute(
                update(Identity)
                .where(Identity.kind == Channel.TELEGRAM, Identity.value == d.recipient)
                .values(active=False)
            )
            log.warning("%s: customer chat blocked the bot; marked inactive", case.reference)
            return await self._fall_back(s, d, case)

    async def _fall_back(self, s: AsyncSession, d: Delivery, case: Case) -> str:
        """The same notice on the next channel of the reply-channel table after Telegram."""
        await s.flush()
        targets = await customer_targets(s, case, skip=Channel.TELEGRAM)
        for channel, recipient, language in targets:
            await self._add_fallback(s, d, case, channel, recipient, language, self.clock())
        if not targets:
            log.warning("%s: %s: no way to reach the customer other than Telegram", case.reference, d.template)
            return "no other channel"
        log.warning("%s: %s falls back to %s", case.reference, d.template, targets[0][0])
        return f"fell back to {targets[0][0]}"

    async def _add_fallback(
        self,
        s: AsyncSession,
        d: Delivery,
        case: Case,
        channel: Channel,
        recipient: str,
        language: Language,
        now: datetime,
    ) -> None:
        message_id = (
            make_message_id(self.signer.case_token(case.reference), self.mail_domain)
            if channel == Channel.EMAIL
            else None
        )
        await insert_ignore(
            s,
            Delivery,
            {
                "event_id": d.event_id,
                "case_id": case.id,
                "audience": d.audience,
                "template": d.template,
                "channel": channel,
                "recipient": recipient,
                "language": language,
                "message_id": message_id,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
            ["event_id", "audience", "channel", "recipient"],
        )
