"""The webhook view on kefu's own aiohttp server: Telegram POSTs each update here.

The secret header is compared in constant time; a wrong or missing one is refused (403) and
nothing is stored. The update is committed before the 200; a database failure answers 500 so
that Telegram delivers it again (and the update_id key makes the repeat harmless).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bots.app import TelegramBot

log = logging.getLogger(__name__)

PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_view(bot: TelegramBot) -> Callable[[web.Request], Awaitable[web.Response]]:
    expected = bot.secret.encode()

    async def handle(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("telegram webhook: wrong or missing secret token from %s", request.remote)
            return web.json_response({"ok": False, "error": "forbidden"}, status=403)
        try:
            payload = json.loads(await request.read())
            int(payload["update_id"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"ok": False, "error": "not a Telegram update"}, status=400)
        try:
            await bot.receive([payload])
        except Exception:
            log.exception("telegram webhook: update %s not stored; Telegram will retry", payload.get("update_id"))
            return web.json_response({"ok": False, "error": "not stored"}, status=500)
        return web.json_response({"ok": True})

    return handle


def add_webhook_route(app: web.Application, bot: TelegramBot) -> None:
    app.router.add_post(PATH, webhook_view(bot), name="telegram_webhook")
