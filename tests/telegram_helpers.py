"""Building Bot API updates as Telegram sends them, and a kefu with its bot pointed at the
local fake Bot API server."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from cases.services.users import seed_departments
from cases.settings import Settings
from kefu.bootstrap import Kefu, bootstrap
from kefu.parts import ALL, Part, Running, start
from tests.conftest import ListTransport
from tests.databases import migrated
from tests.fake_botapi import BOT_USER, TOKEN, FakeBotApi

_ids = itertools.count(1)
T = TypeVar("T")


async def eventually(read: Callable[[], Awaitable[T]], ok: Callable[[T], bool], timeout: float = 30.0) -> T:
    """Read until the value is as expected (the bot works in the background); the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = await read()
        if ok(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


def user(chat_id: int, language: str = "zh") -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "伟", "last_name": "张", "language_code": language}


class Updates:
    """update_ids increase, as Telegram's do; a test may repeat one on purpose."""

    def __init__(self, start_id: int = 5000) -> None:
        self._next = itertools.count(start_id)

    def _wrap(self, key: str, body: dict[str, Any], update_id: int | None) -> dict[str, Any]:
        return {"update_id": update_id if update_id is not None else next(self._next), key: body}

    def message(
        self, chat_id: int, text: str | None = None, *, language: str = "zh", update_id: int | None = None, **extra: Any
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": next(_ids),
            "date": int(time.time()),
            "from": user(chat_id, language),
            "chat": {"id": chat_id, "type": "private", "first_name": "伟"},
            **extra,
        }
        if text is not None:
            body["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._wrap("message", body, update_id)

    def photo(
        self,
        chat_id: int,
        file_ids: tuple[str, ...],
        sizes: tuple[int, ...],
        *,
        media_group_id: str | None = None,
        caption: str | None = None,
        language: str = "zh",
    ) -> dict[str, Any]:
        photos = [
            {"file_id": f, "file_unique_id": f"u-{f}", "width": 90 * (i + 1), "height": 60 * (i + 1), "file_size": size}
            for i, (f, size) in enumerate(zip(file_ids, sizes, strict=True))
        ]
        extra: dict[str, Any] = {"photo": photos}
        if media_group_id:
            extra["media_group_id"] = media_group_id
        if caption:
            extra["caption"] = caption
        return self.message(chat_id, language=language, **extra)

    def document(
        self, chat_id: int, file_id: str, name: str, size: int, mime: str = "application/pdf"
    ) -> dict[str, Any]:
        return self.message(
            chat_id,
            document={
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_name": name,
                "mime_type": mime,
                "file_size": size,
            },
        )

    def contact(self, chat_id: int, phone: str, owner: int | None = None, language: str = "zh") -> dict[str, Any]:
        return self.message(
            chat_id,
            language=language,
            contact={"phone_number": phone, "first_name": "伟", "user_id": owner if owner is not None else chat_id},
        )

    def button(
        self,
        chat_id: int,
        data: str,
        message_id: int = 1,
        text: str = "",
        language: str = "zh",
        update_id: int | None = None,
    ) -> dict[str, Any]:
        body = {
            "id": f"cb{next(_ids)}",
            "from": user(chat_id, language),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "from": BOT_USER,
                "chat": {"id": chat_id, "type": "private"},
                "text": text,
            },
        }
        return self._wrap("callback_query", body, update_id)


def telegram_settings(settings: Settings, api: FakeBotApi, **overrides: Any) -> Settings:
    return replace(
        settings,
        telegram_token=TOKEN,
        telegram_api_url=api.api_url,
        telegram_poll_timeout=1.0,
        telegram_per_chat_seconds=0.0,
        telegram_per_second=1000.0,
        **overrides,
    )


@dataclass
class RunningBot:
    kefu: Kefu
    running: Running
    mail: ListTransport

    async def stop(self) -> None:
        await self.running.stop()


async def run_kefu(settings: Settings, *, http: bool = False, mail: ListTransport | None = None) -> RunningBot:
    """Migrated, seeded, started with the bot polling (or on a webhook) at the fake server."""
    await migrated(settings.sqlalchemy_url)
    mail = mail or ListTransport()
    kefu = bootstrap(settings, transport=mail, poll_seconds=0.2)
    await seed_departments(kefu.db)
    started = await start(kefu, ALL - {Part.SMTP} - (set() if http else {Part.WEB}))
    assert kefu.telegram is not None
    await kefu.telegram.ready.wait()
    return RunningBot(kefu, started, mail)
