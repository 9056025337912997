"""The staff side: approvers approve and assign a department, or decide no action, from the
buttons of a push notice. Every action goes through CaseService with the person's own roles
(the same checks as the API); a refusal is shown in the chat, and the notice is edited to say
who did what."""

from __future__ import annotations

import logging

from sqlalchemy import select
from telegram import Update

from bots import chats
from bots.deps import Deps
from bots.send_errors import ChatBlocked, SendLater, SendRefused
from bots.texts import language_of, t
from bots.updates import mark_processed
from cases.domain.enums import Language
from cases.domain.errors import CaseError
from cases.services.users import actor_for
from cases.store.models import Department, TelegramStaffChat

log = logging.getLogger(__name__)

HELP = (
    "此聊天已关联您的 kefu 账号；需要您处理的事项会推送到这里。",
    "This chat is linked to your kefu account; things that need you are pushed here.",
)


class StaffChat:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    async def _say(self, chat_id: int, text: str) -> None:
        try:
            await self.d.sender.message(chat_id, text)
        except (ChatBlocked, SendLater, SendRefused) as exc:
            log.warning("telegram staff chat %d: answer not sent: %s", chat_id, exc)

    async def _edit(self, chat_id: int, message_id: int, text: str) -> None:
        try:
            await self.d.sender.edit(chat_id, message_id, text)
        except (ChatBlocked, SendLater, SendRefused) as exc:
            log.warning("telegram staff chat %d: notice %d not edited: %s", chat_id, message_id, exc)

    async def approve(self, update: Update, reference: str, department: str) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        chat_id, lang = query.message.chat.id, _lang(update)
        async with self.d.db.reader() as s:
            found = await chats.staff_of_chat(s, chat_id)
            dept = (await s.execute(select(Department).where(Department.code == department))).scalar_one_or_none()
        if found is None:
            await self.d.sender.answer(query.id, t("staff_not_bound", lang))
            return
        _, user = found
        lang = user.language or lang
        try:
            result = await self.d.service.approve(actor_for(user), reference, department)
        except CaseError as exc:
            log.info("telegram: %s approve %s refused: %s", user.username, reference, exc)
            await self.d.sender.answer(query.id, exc.text(lang))
            await self._say(chat_id, t("staff_refused", lang, error=exc.text(lang)))
            return
        await self.d.sender.answer(query.id)
        label = (dept.name_en if lang == "en" else dept.name_zh) if dept else department
        done = t("staff_approved", lang, user=user.display_name, department=label)
        await self._edit(chat_id, query.message.message_id, f"{_text_of(query.message)}\n\n{done}")
        log.info("telegram: %s approved %s -> %s (%s)", user.username, reference, department, result.state)

    async def no_action(self, update: Update, reference: str) -> None:
        """No action needs a reason: the next message from this person is it."""
        query = update.callback_query
        assert query is not None and query.message is not None
        chat_id, lang, now = query.message.chat.id, _lang(update), self.d.clock()
        async with self.d.db.unit_of_work() as s:
            found = await chats.staff_of_chat(s, chat_id)
            if found is not None:
                row, user = found
                lang = user.language or lang
                row.awaiting = {
                    "no_action": reference,
                    "message_id": query.message.message_id,
                    "text": _text_of(query.message),
                }
            await mark_processed(s, update.update_id, now)
        if found is None:
            await self.d.sender.answer(query.id, t("staff_not_bound", lang))
            return
        await self.d.sender.answer(query.id)
        await self._say(chat_id, t("staff_ask_reason", lang, reference=reference))

    async def text(self, update: Update) -> None:
        msg = update.effective_message
        assert msg is not None
        chat_id = msg.chat.id
        async with self.d.db.unit_of_work() as s:
            found = await chats.staff_of_chat(s, chat_id)
            assert found is not None
            row, user = found
            awaiting = dict(row.awaiting or {})
        lang = user.language or _lang(update)
        reference = awaiting.get("no_action")
        if not reference:
            await self._say(chat_id, HELP[1] if lang == "en" else HELP[0])
            return
        reason = (msg.text or "").strip()
        try:
            await self.d.service.decide_no_action(actor_for(user), reference, reason)
        except CaseError as exc:
            log.info("telegram: %s no-action %s refused: %s", user.username, reference, exc)
            await self._say(chat_id, t("staff_refused", lang, error=exc.text(lang)))
            if reason:  # an empty reason may be given again; any other refusal ends the wait
                await self._clear(chat_id, update.update_id)
            return
        await self._clear(chat_id, update.update_id)
        done = t("staff_no_action_done", lang, user=user.display_name, reason=reason)
        await self._edit(chat_id, int(awaiting["message_id"]), f"{awaiting.get('text', reference)}\n\n{done}")
        log.info("telegram: %s decided no action on %s", user.username, reference)

    async def _clear(self, chat_id: int, update_id: int) -> None:
        async with self.d.db.unit_of_work() as s:
            row = (await s.execute(select(TelegramStaffChat).where(TelegramStaffChat.chat_id == chat_id))).scalar_one()
            row.awaiting = {}
            await mark_processed(s, update_id, self.d.clock())


def _lang(update: Update) -> Language:
    user = update.effective_user
    return language_of(user.language_code if user else None)


def _text_of(message: object) -> str:
    return str(getattr(message, "text", None) or "")
