"""Notification events set aside by the fan-out (a bad event must not hold up the others):
staff list them and, after a fix, fan them out again."""

from __future__ import annotations

import logging

from aiohttp import web

from cases.queries import operations
from kefu.web.api.support import DB, REFAN_EVENT, actor_of, paging, path_id

log = logging.getLogger(__name__)


async def list_set_aside(request: web.Request) -> web.Response:
    limit, offset = paging(request)
    async with request.app[DB].reader() as s:
        return web.json_response(await operations.set_aside_events(s, limit, offset))


async def refan_event(request: web.Request) -> web.Response:
    """Back to the fan-out queue; the dispatcher takes it again. 202: the outcome comes later."""
    event_id = path_id(request, "event_id")
    await request.app[REFAN_EVENT](event_id)
    log.info("outbox event #%d: fan-out again requested by %s", event_id, actor_of(request).label)
    return web.json_response({"id": event_id, "status": "pending"}, status=202)
