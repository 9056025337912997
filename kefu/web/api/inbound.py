"""Inbound endpoints: the quarantine (held and ignored mail) and its re-run (Mailman's shunt)."""

from __future__ import annotations

import logging

from aiohttp import web

from cases.queries import operations
from cases.store.models import InboundStatus
from kefu.web.api.support import DB, RERUN_INBOUND, actor_of, paging, path_id, query_choice

log = logging.getLogger(__name__)


async def list_inbound(request: web.Request) -> web.Response:
    status = query_choice(request, "status", [s.value for s in operations.HELD])
    statuses = (InboundStatus(status),) if status else operations.HELD
    limit, offset = paging(request)
    async with request.app[DB].reader() as s:
        return web.json_response(await operations.held_inbound(s, statuses, limit, offset))


async def rerun_inbound(request: web.Request) -> web.Response:
    """Back to pending; the processor takes it again. 202: the outcome comes later."""
    inbound_id = path_id(request, "inbound_id", "inbound message id")
    await request.app[RERUN_INBOUND](inbound_id)
    log.info("inbound #%d: re-run requested by %s", inbound_id, actor_of(request).label)
    return web.json_response({"id": inbound_id, "status": InboundStatus.PENDING.value}, status=202)
