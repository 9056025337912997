"""The Telegram bot inside kefu's own asyncio process: python-telegram-bot's Application without
its Updater (we fetch updates ourselves), the handler table, the long-polling loop and the
processing loop that hands stored updates to the Application one by one.

Receiving and handling are two steps: an update is committed to telegram_updates first (then
acknowledged: webhook 200, or the next getUpdates offset), and a separate loop handles pending
rows in update_id order. A failed handling is retried a few times and then kept as failed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bots import chats
from bots.customer import CustomerChat
from bots.deps import Deps
from bots.send_errors import ChatBlocked, SendLater, SendRefused
from bots.staff import StaffChat
from bots.texts import language_of, t
from bots.updates import MAX_ATTEMPTS, UpdateStore
from cases.services.wakeup import run_rounds
from cases.settings import Settings
from cases.store.models import TelegramUpdate

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile on the public Bot API


ButtonHandler = Callable[[Update, re.Match[str]], Awaitable[None]]


def _with_match(handle: ButtonHandler) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """A CallbackQueryHandler callback that hands `handle` the match of its pattern."""

    async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.matches
        await handle(update, context.matches[0])

    return callback


def webhook_secret(settings: Settings) -> str:
    """KEFU_TELEGRAM_WEBHOOK_SECRET, or one derived from the instance secret (same on every
    instance that shares KEFU_SECRET_KEY). Telegram allows [A-Za-z0-9_-], up to 256."""
    if settings.telegram_webhook_secret:
        return settings.telegram_webhook_secret
    return hmac.new(settings.secret_key.encode(), b"telegram-webhook", hashlib.sha256).hexdigest()


class TelegramBot:
    def __init__(
        self,
        settings: Settings,
        application: Application,  # type: ignore[type-arg]
        deps: Deps,
        store: UpdateStore,
        poll_seconds: float = 5.0,
    ) -> None:
        self.settings = settings
        self.application = application
        self.d = deps
        self.store = store
        self.poll_seconds = poll_seconds
        self.secret = webhook_secret(settings)
        self.customer = CustomerChat(deps)
        self.staff = StaffChat(deps)
        self._wake = asyncio.Event()
        self.ready = asyncio.Event()
        self._failures: dict[int, BaseException] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self._add_handlers()

    # -- the handler table -------------------------------------------------------------------
    def _add_handlers(self) -> None:
        private = filters.ChatType.PRIVATE
        c = self.customer
        app = self.application
        app.add_handler(CommandHandler("start", c.start, filters=private))
        app.add_handler(CommandHandler("new", c.new, filters=private))
        app.add_handler(CommandHandler("cancel", c.cancel, filters=private))
        app.add_handler(CommandHandler("status", c.status, filters=private))
        app.add_handler(MessageHandler(private & filters.CONTACT, c.shared_contact))
        app.add_handler(
            MessageHandler(
                private & ~filters.COMMAND & (filters.TEXT | filters.PHOTO | filters.Document.ALL), self._message
            )
        )
        for pattern, handle in self._buttons():
            app.add_handler(CallbackQueryHandler(_with_match(handle), pattern=pattern))
        app.add_handler(CallbackQueryHandler(self._unknown_button))  # anything else: answered, nothing done
        app.add_error_handler(self._error)

    def _buttons(self) -> list[tuple[re.Pattern[str], ButtonHandler]]:
        """The button table: callback data `<prefix>:<fields>` (bots/keyboards.py,
        bots/complaint.py) -> what it does, the fields as the pattern's groups."""
        c, staff = self.customer, self.staff
        table: list[tuple[str, ButtonHandler]] = [
            (r"cv:(\d+):(.*)", lambda u, m: c.conversation_button(u, int(m[1]), m[2])),  # a step of /new
            (r"pk:(\d+):(.+)", lambda u, m: c.pick(u, int(m[1]), m[2])),  # which case a message joins
            (r"rt:([^:]+):(.+)", lambda u, m: c.rate(u, m[1], m[2])),  # satisfaction
            (r"sc:(\d{1,18}):(.+)", lambda u, m: c.confirm_report(u, int(m[1]), m[2])),  # a service report
            (r"ap:([^:]+):(.+)", lambda u, m: staff.approve(u, m[1], m[2])),  # approve -> department
            (r"na:(.+)", lambda u, m: staff.no_action(u, m[1])),  # no action needed
        ]
        return [(re.compile(f"^{pattern}$", re.DOTALL), handle) for pattern, handle in table]

    async def _message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.effective_message
        assert msg is not None
        async with self.d.db.reader() as s:
            is_staff = await chats.staff_of_chat(s, msg.chat.id) is not None
        if is_staff:
            await self.staff.text(update)
        else:
            await self.customer.message(update, context)

    async def _unknown_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        log.info("telegram: unknown or malformed callback data %r", query.data)
        await self.d.sender.answer(query.id)

    async def _error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The one error handler: our fault. The processing loop records it on the row."""
        if isinstance(update, Update) and context.error is not None:
            self._failures[update.update_id] = context.error
        else:
            log.error("telegram: error outside an update: %s", context.error)

    # -- life cycle --------------------------------------------------------------------------
    async def start(self) -> None:
        """Returns at once; the bot connects in the background (Telegram being down must not
        keep kefu from serving mail). `ready` is set once updates flow."""
        self.tasks.append(asyncio.create_task(self._connect(), name="telegram-connect"))

    async def _connect(self) -> None:
        delay = 1.0
        while True:
            try:
                await self._go()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "telegram: cannot reach the Bot API (%s: %s); trying again in %.0f s",
                    type(exc).__name__,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 300.0)

    async def _go(self) -> None:
        if not self.application._initialized:  # no public flag for this in PTB 22
            await self.application.initialize()  # getMe
        if not self.application.running:
            await self.application.start()
        bot = self.application.bot
        if not self.d.links.bot_username:
            self.d.links.bot_username = bot.username
        if self.settings.telegram_webhook_url:
            await bot.set_webhook(
                self.settings.telegram_webhook_url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES
            )
            log.info("telegram bot @%s: webhook at %s", bot.username, self.settings.telegram_webhook_url)
        else:
            await bot.delete_webhook()
            self.tasks.append(asyncio.create_task(self.poll(), name="telegram-poll"))
            log.info("telegram bot @%s: long polling", bot.username)
        self.tasks.append(asyncio.create_task(self.run(), name="telegram-updates"))
        self.ready.set()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()
        if self.application.running:
            await self.application.stop()
        if self.application._initialized:
            await self.application.shutdown()

    def wake(self) -> None:
        self._wake.set()

    async def receive(self, payloads: list[dict[str, Any]]) -> int:
        """Store and commit (raises on a database failure), then wake the processing loop."""
        new = await self.store.store(payloads)
        self.wake()
        return new

    # -- long polling ------------------------------------------------------------------------
    async def poll(self) -> None:
        offset: int | None = None
        timeout = self.settings.telegram_poll_timeout
        while True:
            try:
                got = await self.application.bot.get_updates(
                    offset=offset, timeout=int(timeout), allowed_updates=ALLOWED_UPDATES
                )
                payloads = [u.to_dict() for u in got]  # unknown fields are kept (api_kwargs)
                if payloads:
                    await self.receive(payloads)  # committed before the offset acknowledges them
                    offset = max(int(p["update_id"]) for p in payloads) + 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("telegram: getUpdates failed (%s: %s); retrying", type(exc).__name__, exc)
                await asyncio.sleep(min(self.poll_seconds, 5.0))

    # -- handling ----------------------------------------------------------------------------
    async def run(self) -> None:
        await run_rounds(self.process_pending, self._wake, self.poll_seconds, "telegram", self.d.db.health)

    async def process_pending(self) -> int:
        handled = 0
        while rows := await self.store.lease():
            for row in rows:
                await self._handle(row)
                handled += 1
        return handled

    async def _handle(self, row: TelegramUpdate) -> None:
        update = Update.de_json(row.payload, self.application.bot)
        self._failures.pop(row.update_id, None)
        await self.application.process_update(update)
        error = self._failures.pop(row.update_id, None)
        if error is None:
            await self.store.processed(row.update_id)  # a no-op where the handler marked it already
            return
        log.error(
            "telegram update %d (chat %s) failed: %s: %s",
            row.update_id,
            row.chat_id,
            type(error).__name__,
            error,
            exc_info=error,
        )
        await self.store.failed(row, f"{type(error).__name__}: {error}")
        if row.attempts + 1 >= MAX_ATTEMPTS and row.chat_id is not None:
            user = update.effective_user
            language = language_of(user.language_code if user else None)
            try:
                await self.d.sender.message(row.chat_id, t("sorry", language))
            except (ChatBlocked, SendLater, SendRefused):
                pass
