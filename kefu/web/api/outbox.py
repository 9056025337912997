"""Notification events set aside by the fan-out (a bad event must not hold up the others):
staff list them and, after a fix, fan them out again."""

from __future__ import annotations

import logging

from aiohttp import web

from cases.queries import operations
from cases.queries.case_views import MAX_LIMIT
from kefu.web.api.support import DB, REFAN_EVENT, actor_of, path_id, query_int

log = logging.getLogger(__name__)


async def list_set_aside(request: web.Request) -> web.Response:
    limit = query_int(request, "limit", 50, minimum=1, maximum=MAX_LIMIT) or 50
    offset = query_int(request, "offset", 0) or 0
    async with request.app[DB].reader() as s:
        return web.json_response(await operations.set_aside_events(s, limit, offset))


async def refan_event(request: web.Request) -> web.Response:
    """Back to the fan-out queue; the dispatcher takes it again. 202: the outcome comes later."""
    event_id = path_id(request, "event_id")
    await request.app[REFAN_EVENT](event_id)
    log.info("outbox event #%d: fan-out again requested by %s", event_id, actor_of(request).label)
    return web.json_response({"id": event_id, "status": "pending"}, status=202)
