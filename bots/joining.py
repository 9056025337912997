"""A customer's message outside a guided conversation joins one of their open cases: at once
when there is one, after a choice (buttons) when there are several. A satisfaction button is
such a message too ("满意", "3"), read by receiving's follow-up exactly like a typed answer.

An album arrives as one update per photo with the same media_group_id: the first becomes the
case message, the others add their attachments to it (one message with several attachments),
and a pending case choice collects them instead of asking again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bots import chats, media
from bots.complaint import Reply
from bots.deps import Deps
from bots.texts import t
from bots.updates import mark_processed
from cases.domain.enums import CaseState, Channel, Language
from cases.domain.intake_message import Attachment, IntakeMessage, ThreadHints
from cases.services.receiving import store_attachments
from cases.store.models import Case, CaseMessage, ServiceReport, TelegramConversation

log = logging.getLogger(__name__)

PICK = "pick_case"
RATINGS = {"satisfied": "满意", "neutral": "一般", "unsatisfied": "不满意", **{str(n): str(n) for n in range(1, 6)}}
REPORT_ANSWERS = ("satisfied", "neutral", "unsatisfied")  # a service report's confirmation buttons


def album_key(msg: Message) -> str | None:
    return f"tg-album-{msg.chat.id}-{msg.media_group_id}@telegram" if msg.media_group_id else None


class Joiner:
    def __init__(self, deps: Deps, say: Callable[[int, list[Reply]], Awaitable[None]]) -> None:
        self.d = deps
        self.say = say

    async def free_text(self, update: Update, msg: Message, lang: Language) -> None:
        async with self.d.db.reader() as s:
            cases = await chats.open_cases_of_chat(s, msg.chat.id)
        if not cases:
            await self.say(msg.chat.id, [Reply(t("no_open_case", lang))])
            return
        limit = self.d.download_limit
        refs = media.files_of(msg)
        notes = [Reply(t("file_too_big", lang, name=r["name"])) for r in refs if media.too_big(r, limit)]
        if len(cases) == 1:
            attachments = await media.download(self.d.bot, refs, limit)
            await self.join(
                update.update_id,
                msg,
                cases[0].reference,
                _text(msg, refs, limit, lang),
                attachments,
                lang,
                _name(msg),
                notes=notes,
            )
            return
        now = self.d.clock()
        key = album_key(msg)
        async with self.d.db.unit_of_work() as s:
            old = await _open_pick(s, msg.chat.id)
            if old is not None and key and old.data.get("album") == key:
                old.data = {**old.data, "files": [*old.data.get("files", []), *refs]}  # the rest of an album
                await mark_processed(s, update.update_id, now)
                conv = None
            else:
                if old is not None:
                    old.finished_at = now
                conv = TelegramConversation(
                    chat_id=msg.chat.id,
                    kind=PICK,
                    step="which",
                    language=lang,
                    data={"text": _text(msg, refs, limit, lang), "files": refs, "name": _name(msg), "album": key},
                    created_at=now,
                    updated_at=now,
                )
                s.add(conv)
                await s.flush()
                await mark_processed(s, update.update_id, now)
        if conv is None:
            await self.say(msg.chat.id, notes)
            return
        buttons = [
            [InlineKeyboardButton(f"{c.reference} {c.subject[:30]}", callback_data=f"pk:{conv.id}:{c.reference}")]
            for c in cases[:8]
        ]
        await self.say(msg.chat.id, [*notes, Reply(t("which_case", lang), InlineKeyboardMarkup(buttons))])

    async def join(
        self,
        update_id: int,
        msg: Message,
        reference: str,
        text: str,
        attachments: tuple[Attachment, ...],
        lang: Language,
        name: str,
        *,
        finish: int | None = None,
        notes: list[Reply] | None = None,
        report_id: int | None = None,
    ) -> None:
        now = self.d.clock()
        key = album_key(msg) if msg.from_user is not None and not msg.from_user.is_bot else None
        async with self.d.db.unit_of_work() as s:
            first = (
                (await s.execute(select(CaseMessage).where(CaseMessage.message_id == key))).scalar_one_or_none()
                if key
                else None
            )
            if first is not None:  # another photo of an album already on the case
                await store_attachments(s, first, attachments)
                outcome = None
            else:
                outcome = await self.d.service.receive(
                    s,
                    IntakeMessage(
                        channel=Channel.TELEGRAM,
                        source_id=f"update-{update_id}",
                        sender_identity=str(msg.chat.id),
                        sender_name=name,
                        subject="",
                        text=text,
                        new_text=text,
                        received_at=_when(msg, now),
                        language=lang,
                        message_id=key,
                        hints=ThreadHints(case_reference=reference, report_id=report_id),
                        attachments=attachments,
                    ),
                )
            if finish is not None and (conv := await s.get(TelegramConversation, finish, with_for_update=True)):
                conv.finished_at, conv.case_reference = now, reference
            await mark_processed(s, update_id, now)
        self.d.service.committed()
        if outcome is None:
            await self.say(msg.chat.id, notes or [])
            return
        log.info("telegram chat %d: message joined %s (%s)", msg.chat.id, outcome.reference, outcome.how)
        done = t("rated", lang) if outcome.rating else t("joined", lang, reference=outcome.reference)
        await self.say(msg.chat.id, [*(notes or []), Reply(done)])

    async def pick(self, update: Update, conv_id: int, reference: str, lang: Language) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        chat_id = query.message.chat.id
        async with self.d.db.reader() as s:
            conv = await s.get(TelegramConversation, conv_id)
            case = await chats.own_case(s, chat_id, reference)
        if conv is None or conv.kind != PICK or conv.chat_id != chat_id or conv.finished_at or case is None:
            await self.d.sender.answer(query.id, t("not_in_conversation", lang))
            return
        await self.d.sender.answer(query.id)
        attachments = await media.download(self.d.bot, list(conv.data.get("files", [])), self.d.download_limit)
        await self.join(
            update.update_id,
            query.message,  # type: ignore[arg-type]
            case.reference,
            str(conv.data.get("text", "")),
            attachments,
            lang,
            str(conv.data.get("name", "")),
            finish=conv.id,
        )

    async def rate(self, update: Update, reference: str, value: str, lang: Language) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        async with self.d.db.reader() as s:
            case = await chats.own_case(s, query.message.chat.id, reference)
        if case is None or value not in RATINGS or case.state != CaseState.AWAITING_SATISFACTION:
            await self.d.sender.answer(query.id, t("not_in_conversation", lang))
            return
        await self.d.sender.answer(query.id, t("rated", lang))
        name = query.from_user.full_name if query.from_user else ""
        await self.join(update.update_id, query.message, case.reference, RATINGS[value], (), lang, name)  # type: ignore[arg-type]

    async def confirm_report(self, update: Update, report_id: int, value: str, lang: Language) -> None:
        """The customer's button under a service report's confirmation request: it answers that
        report (cases/quality/confirmation.py), from the chat of the case's own contact only."""
        query = update.callback_query
        assert query is not None and query.message is not None
        async with self.d.db.reader() as s:
            report = await s.get(ServiceReport, report_id)
            case = await s.get(Case, report.case_id) if report is not None else None
            own = await chats.own_case(s, query.message.chat.id, case.reference) if case is not None else None
        if own is None or report is None or value not in REPORT_ANSWERS or report.state != "reviewed":
            await self.d.sender.answer(query.id, t("not_in_conversation", lang))
            return
        await self.d.sender.answer(query.id, t("rated", lang))
        name = query.from_user.full_name if query.from_user else ""
        await self.join(
            update.update_id,
            query.message,  # type: ignore[arg-type]
            own.reference,
            RATINGS[value],
            (),
            lang,
            name,
            report_id=report_id,
        )


async def _open_pick(s: AsyncSession, chat_id: int) -> TelegramConversation | None:
    return (
        await s.execute(
            select(TelegramConversation)
            .where(
                TelegramConversation.chat_id == chat_id,
                TelegramConversation.kind == PICK,
                TelegramConversation.finished_at.is_(None),
            )
            .order_by(TelegramConversation.id.desc())
            .limit(1)
            .with_for_update()
        )
    ).scalar_one_or_none()


def _name(msg: Message) -> str:
    return msg.from_user.full_name if msg.from_user else ""


def _text(msg: Message, refs: list[media.FileRef], limit: int, lang: str) -> str:
    return (msg.text or msg.caption or "").strip() + media.too_big_note(refs, limit, lang)


def _when(msg: Message, now: datetime) -> datetime:
    """The customer's own message carries its time; a button press is now (the message under
    the button is ours, from earlier)."""
    if msg.date is None or msg.from_user is None or msg.from_user.is_bot:
        return now
    return msg.date.astimezone(UTC)
