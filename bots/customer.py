"""The customer's side of the bot: /start (and deep links), the phone button, /new, /status,
free text into the open case, the case choice, and the satisfaction buttons.

Every handler works in units of work it opens itself and marks the update handled in the same
unit of work as its effect (bots/updates.py); what it answers is sent after the commit.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bots import chats, complaint, media
from bots.complaint import Reply
from bots.deps import Deps
from bots.joining import Joiner
from bots.links import LinkRefused
from bots.send_errors import ChatBlocked, SendLater, SendRefused
from bots.texts import language_of, stage, t
from bots.updates import mark_processed
from cases.domain.enums import Channel, Language
from cases.domain.intake_message import IntakeMessage
from cases.store.models import TelegramConversation, User

log = logging.getLogger(__name__)


async def open_conversation(s: AsyncSession, chat_id: int) -> TelegramConversation | None:
    return (
        await s.execute(
            select(TelegramConversation)
            .where(TelegramConversation.chat_id == chat_id, TelegramConversation.finished_at.is_(None))
            .order_by(TelegramConversation.id.desc())
            .limit(1)
            .with_for_update()
        )
    ).scalar_one_or_none()


async def _finish_open_conversation(s: AsyncSession, chat_id: int, now: datetime) -> None:
    """A new /new or a /cancel ends the conversation the chat was in, if any."""
    if (old := await open_conversation(s, chat_id)) is not None:
        old.finished_at, old.step = now, complaint.DONE


class CustomerChat:
    def __init__(self, deps: Deps) -> None:
        self.d = deps
        self.joiner = Joiner(deps, self.say)

    async def say(self, chat_id: int, replies: list[Reply]) -> None:
        for r in replies:
            try:
                await self.d.sender.message(chat_id, r.text, r.markup)
            except (ChatBlocked, SendLater, SendRefused) as exc:
                log.warning("telegram chat %d: answer not sent: %s", chat_id, exc)

    # -- /start, deep links, phone -----------------------------------------------------------
    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg, lang = update.effective_message, _lang(update)
        assert msg is not None
        token = context.args[0] if context.args else ""
        if not token:
            keyboard = ReplyKeyboardMarkup(
                [[KeyboardButton(t("share_phone", lang), request_contact=True)]],
                resize_keyboard=True,
                one_time_keyboard=True,
            )
            await self.d.sender.message(msg.chat.id, t("welcome", lang), keyboard)
            return
        now = self.d.clock()
        try:
            async with self.d.db.unit_of_work() as s:
                redeemed = await self.d.links.redeem(s, token, msg.chat.id, now)
                if redeemed.kind == "contact":
                    contact = await chats.bind_contact(s, msg.chat.id, redeemed.target_id, now)
                    answer = t("bound_contact", lang, name=contact.name)
                else:
                    user: User = await chats.bind_user(s, msg.chat.id, redeemed.target_id, now)
                    answer = t("bound_user", lang, name=user.display_name)
                await mark_processed(s, update.update_id, now)
        except LinkRefused as exc:
            log.info("telegram chat %d: deep link refused: %s", msg.chat.id, exc.reason)
            answer = t(f"link_{exc.reason}", lang)
        await self.say(msg.chat.id, [Reply(answer)])

    async def shared_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg, lang = update.effective_message, _lang(update)
        assert msg is not None and msg.contact is not None
        if msg.from_user is None or msg.contact.user_id != msg.from_user.id:
            await self.say(msg.chat.id, [Reply(t("phone_not_own", lang))])  # someone else's card proves nothing
            return
        now = self.d.clock()
        async with self.d.db.unit_of_work() as s:
            found = await chats.match_phone(
                s, msg.chat.id, msg.contact.phone_number, msg.from_user.full_name, lang, now
            )
            await mark_processed(s, update.update_id, now)
        await self.say(
            msg.chat.id, [Reply(t("phone_matched", lang, name=found.name) if found else t("phone_unknown", lang))]
        )

    # -- /new, /cancel, /status --------------------------------------------------------------
    async def new(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg, lang, now = update.effective_message, _lang(update), self.d.clock()
        assert msg is not None
        async with self.d.db.unit_of_work() as s:
            await _finish_open_conversation(s, msg.chat.id, now)
            conv = complaint.begin(msg.chat.id, lang, now)
            s.add(conv)
            await s.flush()
            await mark_processed(s, update.update_id, now)
            first = complaint.prompt(conv)
        await self.say(msg.chat.id, [first])

    async def cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg, lang, now = update.effective_message, _lang(update), self.d.clock()
        assert msg is not None
        async with self.d.db.unit_of_work() as s:
            await _finish_open_conversation(s, msg.chat.id, now)
            await mark_processed(s, update.update_id, now)
        await self.say(msg.chat.id, [Reply(t("cancelled", lang))])

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg, lang = update.effective_message, _lang(update)
        assert msg is not None
        async with self.d.db.reader() as s:
            cases = await chats.open_cases_of_chat(s, msg.chat.id)
        if not cases:
            await self.say(msg.chat.id, [Reply(t("no_open_case", lang))])
            return
        lines = [t("status_head", lang)] + [
            t("status_line", lang, reference=c.reference, subject=c.subject[:60], stage=stage(c.state, lang))
            for c in cases
        ]
        await self.say(msg.chat.id, [Reply("\n".join(lines))])

    # -- messages ----------------------------------------------------------------------------
    async def message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg, now = update.effective_message, self.d.clock()
        assert msg is not None
        async with self.d.db.unit_of_work() as s:
            await chats.seen(s, msg.chat.id)
            conv = await open_conversation(s, msg.chat.id)
            if conv is not None and conv.kind == complaint.COMPLAINT:
                replies = complaint.on_message(conv, msg, self.d.download_limit, now)
                await mark_processed(s, update.update_id, now)
            else:
                replies = []
        if conv is not None and conv.kind == complaint.COMPLAINT:
            await self.say(msg.chat.id, replies)
            return
        await self.joiner.free_text(update, msg, _lang(update))

    # -- buttons -----------------------------------------------------------------------------
    async def conversation_button(self, update: Update, conv_id: int, action: str) -> None:
        query, lang, now = update.callback_query, _lang(update), self.d.clock()
        assert query is not None and query.message is not None
        chat_id = query.message.chat.id
        async with self.d.db.reader() as s:
            conv = await s.get(TelegramConversation, conv_id)
        if conv is None or conv.chat_id != chat_id or conv.finished_at is not None:
            await self.d.sender.answer(query.id, t("not_in_conversation", lang))
            return
        await self.d.sender.answer(query.id)
        if action == "confirm" and conv.step == complaint.CONFIRM:
            await self._confirm(update, conv)
            return
        async with self.d.db.unit_of_work() as s:
            conv = await s.get(TelegramConversation, conv_id, with_for_update=True)
            assert conv is not None
            reply = complaint.on_button(conv, action, now)
            await mark_processed(s, update.update_id, now)
        if reply is not None:
            await self.say(chat_id, [reply])

    async def _confirm(self, update: Update, conv: TelegramConversation) -> None:
        """Exactly one case: the conversation row is locked and must still be waiting for the
        confirm; the case, the finished conversation and the handled update commit together."""
        query = update.callback_query
        assert query is not None and query.message is not None
        limit = self.d.download_limit
        attachments = await media.download(self.d.bot, list(conv.data.get("files", [])), limit)
        subject, text = complaint.case_text(conv, limit)
        now = self.d.clock()
        user = query.from_user
        async with self.d.db.unit_of_work() as s:
            row = await s.get(TelegramConversation, conv.id, with_for_update=True)
            if row is None or row.finished_at is not None or row.step != complaint.CONFIRM:
                await mark_processed(s, update.update_id, now)
                return
            outcome = await self.d.service.receive(
                s,
                IntakeMessage(
                    channel=Channel.TELEGRAM,
                    source_id=f"conv-{row.id}",
                    sender_identity=str(row.chat_id),
                    sender_name=user.full_name if user else "",
                    subject=subject,
                    text=text,
                    new_text=text,
                    received_at=now,
                    language=row.language,
                    attachments=attachments,
                ),
            )
            row.step, row.finished_at, row.case_reference, row.updated_at = complaint.DONE, now, outcome.reference, now
            await mark_processed(s, update.update_id, now)
        self.d.service.committed()
        log.info("telegram chat %d: conversation %d opened %s", row.chat_id, row.id, outcome.reference)
        await self.say(row.chat_id, [Reply(t("created", row.language, reference=outcome.reference))])

    async def pick(self, update: Update, conv_id: int, reference: str) -> None:
        await self.joiner.pick(update, conv_id, reference, _lang(update))

    async def rate(self, update: Update, reference: str, value: str) -> None:
        """A button answer goes the way a typed one goes (bots/joining.py)."""
        await self.joiner.rate(update, reference, value, _lang(update))

    async def confirm_report(self, update: Update, report_id: int, value: str) -> None:
        """A service report's confirmation button (bots/joining.py)."""
        await self.joiner.confirm_report(update, report_id, value, _lang(update))


def _lang(update: Update) -> Language:
    user = update.effective_user
    return language_of(user.language_code if user else None)
