"""Sending within Telegram's limits: about 30 messages a second in all and one a second per
chat, and `RetryAfter` (HTTP 429) obeyed. Errors become two kinds for the callers: the chat is
gone (the user blocked the bot: Forbidden) or the send may work later."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bots.send_errors import ChatBlocked, SendLater, SendRefused

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_WAIT_SECONDS = 30.0  # a longer RetryAfter is handed back: the dispatcher retries later
MAX_TRIES = 4


class Limiter:
    """Spaces the sends: one a chat per `per_chat_seconds`, `per_second` overall.

    The sends of one chat take turns (a lock a chat), so the chat's next slot counts from the
    time its previous send really got, after the overall wait; reserving them all up front let
    a burst's sends come closer than the chat's interval whenever the overall limit delayed one.
    Other chats do not wait for a chat's turns, only for the overall slots."""

    def __init__(self, per_second: float = 30.0, per_chat_seconds: float = 1.0) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.per_chat = per_chat_seconds
        self._next_any = 0.0
        self._next_chat: dict[int | str, float] = {}
        self._turns: dict[int | str, asyncio.Lock] = {}
        self._lock = asyncio.Lock()

    async def wait(self, chat_id: int | str) -> float:
        """Wait for the chat's turn and slot, then for the next free slot overall. Returns the
        slot it sent in (the event loop's time)."""
        loop = asyncio.get_running_loop()
        turn = self._turns.setdefault(chat_id, asyncio.Lock())
        async with turn:
            now = loop.time()
            if (mine := self._next_chat.get(chat_id, 0.0)) > now:
                await asyncio.sleep(mine - now)
            async with self._lock:
                now = loop.time()
                at = max(now, self._next_any)
                self._next_any = at + self.interval
            if at > now:
                await asyncio.sleep(at - now)
            self._next_chat[chat_id] = at + self.per_chat
        if len(self._turns) > 10000:  # forget the chats that wait for nothing
            now = loop.time()
            self._turns = {k: v for k, v in self._turns.items() if v.locked()}
            self._next_chat = {k: v for k, v in self._next_chat.items() if v > now or k in self._turns}
        return at

    def hold(self, chat_id: int | str, seconds: float) -> None:
        """Telegram said wait: no send to this chat, nor any other, before then."""
        until = asyncio.get_running_loop().time() + seconds
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), until)
        self._next_any = max(self._next_any, until)


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int form will become a timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: int | timedelta = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Sender:
    def __init__(self, bot: Bot, limiter: Limiter) -> None:
        self.bot = bot
        self.limiter = limiter

    async def _call(self, chat_id: int | str, call: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, MAX_TRIES + 1):
            await self.limiter.wait(chat_id)
            try:
                return await call()
            except RetryAfter as exc:
                wait = _retry_seconds(exc)
                log.warning("telegram: flood control for chat %s, retry after %.1f s", chat_id, wait)
                if wait > MAX_WAIT_SECONDS or attempt == MAX_TRIES:
                    raise SendLater(f"flood control: retry after {wait:.0f} s") from exc
                self.limiter.hold(chat_id, wait)
            except Forbidden as exc:
                raise ChatBlocked(str(exc)) from exc
            except BadRequest as exc:
                raise SendRefused(str(exc)) from exc
            except (NetworkError, TelegramError) as exc:
                raise SendLater(f"{type(exc).__name__}: {exc}") from exc
        raise SendLater("gave up")  # not reached

    async def message(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None
    ) -> Message:
        return await self._call(chat_id, lambda: self.bot.send_message(chat_id, text[:4096], reply_markup=markup))

    async def edit(self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None = None) -> Any:
        return await self._call(
            chat_id,
            lambda: self.bot.edit_message_text(
                text[:4096], chat_id=chat_id, message_id=message_id, reply_markup=markup
            ),
        )

    async def answer(self, callback_query_id: str, text: str | None = None) -> None:
        """Not a chat message: outside the per-chat limit, and failures do not matter."""
        try:
            await self.bot.answer_callback_query(callback_query_id, text=text[:200] if text else None)
        except TelegramError as exc:
            log.info("telegram: answerCallbackQuery failed: %s", exc)
