"""Telegram deep links: staff make a single-use link that binds a customer's chat to a contact,
or their own chat to their account (README "Telegram bot"). The link maker is the bot's, wired
in by the composition root; without KEFU_TELEGRAM_TOKEN these answer 409."""

from __future__ import annotations

import logging
from typing import Protocol

from aiohttp import web

from cases.domain.errors import Conflict
from kefu.web.api.support import TELEGRAM_LINKS, RequestError, actor_of, path_id

log = logging.getLogger(__name__)


class LinkMaker(Protocol):
    async def contact_link(self, contact_id: int, created_by: str) -> str: ...
    async def user_link(self, user_id: int, created_by: str) -> str: ...


def _links(request: web.Request) -> LinkMaker:
    links = request.app[TELEGRAM_LINKS]
    if links is None:
        raise Conflict(
            "The Telegram bot is off (no KEFU_TELEGRAM_TOKEN is set)",
            zh="Telegram 机器人未启用（未设置 KEFU_TELEGRAM_TOKEN）",
        )
    return links


async def contact_telegram_link(request: web.Request) -> web.Response:
    url = await _links(request).contact_link(path_id(request, "contact_id"), actor_of(request).label)
    return web.json_response({"url": url, "single_use": True}, status=201)


async def my_telegram_link(request: web.Request) -> web.Response:
    actor = actor_of(request)
    if actor.user_id is None:
        raise RequestError("Only a staff account can bind a Telegram chat.", zh="只有员工账号可以绑定 Telegram 聊天")
    url = await _links(request).user_link(actor.user_id, actor.label)
    return web.json_response({"url": url, "single_use": True}, status=201)
