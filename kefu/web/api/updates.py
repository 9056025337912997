"""Telegram updates kept as failed (a handler failed three times, or the database refused to
store one): staff list them and, after a fix, put one back to be handled again."""

from __future__ import annotations

import logging

from aiohttp import web

from cases.queries import operations
from kefu.web.api.support import DB, RERUN_UPDATE, actor_of, paging, path_id

log = logging.getLogger(__name__)


async def list_failed_updates(request: web.Request) -> web.Response:
    limit, offset = paging(request)
    async with request.app[DB].reader() as s:
        return web.json_response(await operations.failed_updates(s, limit, offset))


async def rerun_update(request: web.Request) -> web.Response:
    """Back to pending; the bot handles it again. 202: the outcome comes later."""
    update_id = path_id(request, "update_id")
    await request.app[RERUN_UPDATE](update_id)
    log.info("telegram update %d: handling again requested by %s", update_id, actor_of(request).label)
    return web.json_response({"id": update_id, "status": "pending"}, status=202)
