"""The rule tables an admin keeps (cases/rules/tables.py: severity, routing, intake holds): read
by every case reader, changed one key at a time through RuleService, which checks the table's
keepers and writes the history (docs/console.md "Rule tables")."""

from __future__ import annotations

from aiohttp import web

from cases.rules.tables import TABLES
from kefu.web.api.support import CASES, actor_of, json_object, no_other_fields, path_text, text_field


async def list_rule_tables(request: web.Request) -> web.Response:
    service = request.app[CASES].rules
    items = []
    for name in TABLES:
        table = await service.table(name, history=0)
        table.pop("history")
        items.append(table)
    return web.json_response({"items": items})


async def get_rule_table(request: web.Request) -> web.Response:
    return web.json_response(await request.app[CASES].rules.table(path_text(request, "table")))


async def put_rule(request: web.Request) -> web.Response:
    body = await json_object(request)
    no_other_fields(body, {"value"})
    changed = await request.app[CASES].rules.change(
        actor_of(request), path_text(request, "table"), path_text(request, "key"), text_field(body, "value")
    )
    return web.json_response(changed)
