"""The customer archive over the API: customers, contacts, identities, reply channel, merges."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from kefu.web.api.support import (
    ARCHIVE,
    CASES,
    RequestError,
    actor_of,
    int_field,
    json_object,
    no_other_fields,
    path_id,
    query_text,
    text_field,
)

log = logging.getLogger(__name__)


def _opt(body: dict[str, Any], name: str) -> str | None:
    return text_field(body, name, required=False) if body.get(name) is not None else None


async def create_customer(request: web.Request) -> web.Response:
    body = await json_object(request)
    no_other_fields(body, {"name", "code", "language"})
    customer_id = await request.app[ARCHIVE].create_customer(
        text_field(body, "name"), _opt(body, "code"), _opt(body, "language")
    )
    return web.json_response(await request.app[ARCHIVE].customer(customer_id), status=201)


async def list_customers(request: web.Request) -> web.Response:
    q = query_text(request, "q")
    return web.json_response({"items": await request.app[ARCHIVE].customers(q)})


async def get_customer(request: web.Request) -> web.Response:
    return web.json_response(await request.app[ARCHIVE].customer(path_id(request, "customer_id")))


async def create_contact(request: web.Request) -> web.Response:
    body = await json_object(request)
    no_other_fields(body, {"name", "language", "preferred_channel", "identities"})
    raw = [] if body.get("identities") is None else body["identities"]
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        raise RequestError(
            "The field 'identities' must be a list of objects {kind, value}.",
            zh="字段 identities 须为对象 {kind, value} 的列表",
        )
    identities = []
    for item in raw:
        no_other_fields(item, {"kind", "value"})
        identities.append((text_field(item, "kind"), text_field(item, "value")))
    archive = request.app[ARCHIVE]
    customer_id = path_id(request, "customer_id")
    contact_id = await archive.create_contact(
        customer_id, text_field(body, "name"), _opt(body, "language"), _opt(body, "preferred_channel"), identities
    )
    return web.json_response({"id": contact_id, "customer_id": customer_id}, status=201)


async def add_identity(request: web.Request) -> web.Response:
    body = await json_object(request)
    no_other_fields(body, {"kind", "value"})
    found = await request.app[ARCHIVE].add_identity(
        path_id(request, "contact_id"), text_field(body, "kind"), text_field(body, "value")
    )
    return web.json_response(found, status=201)


async def update_contact(request: web.Request) -> web.Response:
    body = await json_object(request)
    no_other_fields(body, {"name", "language", "preferred_channel", "customer_id"})
    contact_id = path_id(request, "contact_id")
    moved = await request.app[ARCHIVE].update_contact(
        actor_of(request),
        contact_id,
        name=_opt(body, "name"),
        language=_opt(body, "language"),
        preferred_channel=_opt(body, "preferred_channel"),
        customer_id=int_field(body, "customer_id", required=False),
    )
    return web.json_response({"id": contact_id, **({"move": moved.as_json()} if moved else {})})


async def merge(request: web.Request) -> web.Response:
    body = await json_object(request)
    no_other_fields(body, {"kind", "source", "target"})
    source, target = int_field(body, "source"), int_field(body, "target")
    assert source is not None and target is not None  # required
    result = await request.app[ARCHIVE].merge(actor_of(request), text_field(body, "kind"), source, target)
    return web.json_response(result.as_json(), status=201)


async def unmerge(request: web.Request) -> web.Response:
    result = await request.app[ARCHIVE].unmerge(actor_of(request), path_id(request, "merge_id"))
    return web.json_response(result.as_json())


async def clear_bounce(request: web.Request) -> web.Response:
    """Clear the bounce mark of an address: customer notices go to it again."""
    identity_id = path_id(request, "identity_id")
    cleared = await request.app[CASES].clear_bounce(actor_of(request), identity_id)
    log.info("identity #%d: bounce mark cleared by %s", identity_id, actor_of(request).label)
    return web.json_response(cleared)
