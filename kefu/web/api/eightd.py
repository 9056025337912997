"""The form's corrections, the review team, the 8D and its document, and the two tables behind
them (severity rules, failure modes); docs/quality.md.

Handlers check only that the caller may see the case (the department rule, which lets a review
team's departments read it); the services check roles, order and state (cases/quality/)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from cases.quality.eightd import Member
from cases.quality.failure_modes import all_modes
from cases.quality.severity import rules
from cases.queries import case_views, eightd_views
from kefu.documents import render
from kefu.web.api.access import scope_for
from kefu.web.api.support import (
    CASES,
    DB,
    MAX_QUANTITY,
    SETTINGS,
    RequestError,
    actor_of,
    json_object,
    no_other_fields,
    path_text,
    query_choice,
    text_field,
    whole_number,
)

FORM_TEXTS = ("type", "severity", "description")  # strings, never null
FORM_CLEARABLE = ("part_number", "batch", "vehicle", "failure_category", "failure_mode")  # strings or null
FORM_IDS = ("customer_id", "contact_id")
FORM_FIELDS = (*FORM_TEXTS, *FORM_CLEARABLE, *FORM_IDS, "quantity", "field_failure")
MAX_MEMBERS = 30


async def _visible(request: web.Request) -> str:
    reference = path_text(request, "reference")
    async with request.app[DB].reader() as s:
        await case_views.ensure_visible(s, scope_for(actor_of(request)), reference)
    return reference


def _form_fields(body: dict[str, Any]) -> dict[str, Any]:
    no_other_fields(body, set(FORM_FIELDS))
    if not body:
        raise RequestError(
            f"Send at least one of the form's fields: {', '.join(FORM_FIELDS)}.",
            zh=f"请至少提供表单的一个字段：{', '.join(FORM_FIELDS)}",
        )
    fields: dict[str, Any] = {}
    for name, value in body.items():
        if name in FORM_TEXTS:
            fields[name] = text_field(body, name)
        elif name in FORM_CLEARABLE:
            fields[name] = None if value is None else text_field(body, name)
        elif name in FORM_IDS:
            fields[name] = whole_number(value, f"The field '{name}'")
        elif name == "quantity":
            fields[name] = (
                None if value is None else whole_number(value, "The field 'quantity'", minimum=0, maximum=MAX_QUANTITY)
            )
        elif not isinstance(value, bool):
            raise RequestError(
                "The field 'field_failure' must be true or false.", zh="字段 field_failure 须为 true 或 false"
            )
        else:
            fields[name] = value
    return fields


async def correct_case(request: web.Request) -> web.Response:
    body = await json_object(request)
    fields = _form_fields(body)
    reference = await _visible(request)
    return web.json_response(await request.app[CASES].correct_form(actor_of(request), reference, fields))


async def set_review_team(request: web.Request) -> web.Response:
    body = await json_object(request)
    no_other_fields(body, {"members"})
    raw = body.get("members")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_MEMBERS:
        raise RequestError(
            f"The field 'members' must be an array of 1 to {MAX_MEMBERS} members.",
            zh=f"字段 members 须为含 1 至 {MAX_MEMBERS} 名成员的数组",
        )
    members = []
    for item in raw:
        if not isinstance(item, dict):
            raise RequestError(
                "Each member is an object {name, department, leader, username}.",
                zh="每名成员须为对象 {name, department, leader, username}",
            )
        no_other_fields(item, {"name", "department", "leader", "username"})
        leader = item.get("leader", False)
        if not isinstance(leader, bool):
            raise RequestError("A member's 'leader' must be true or false.", zh="成员的 leader 须为 true 或 false")
        username = text_field(item, "username", required=False) or None
        members.append(Member(text_field(item, "name"), text_field(item, "department"), leader, username))
    reference = await _visible(request)
    case = await request.app[CASES].eightd.set_team(actor_of(request), reference, members)
    request.app[CASES].committed()
    return web.json_response({"reference": case.reference, "state": case.state})


async def get_eightd(request: web.Request) -> web.Response:
    async with request.app[DB].reader() as s:
        found = await eightd_views.eightd(s, scope_for(actor_of(request)), path_text(request, "reference"))
    return web.json_response(found)


async def record_step(request: web.Request) -> web.Response:
    body = await json_object(request)
    no_other_fields(body, {"content"})
    content = body.get("content")
    if not isinstance(content, dict):
        raise RequestError(
            "The field 'content' is required (an object: the step's fields).",
            zh="字段 content 为必填项（对象：该步骤的各字段）",
        )
    reference = await _visible(request)
    row = await request.app[CASES].eightd.record(actor_of(request), reference, path_text(request, "step"), content)
    return web.json_response({"reference": reference.strip().upper(), "step": row.step, "version": row.version})


async def sign_step(request: web.Request) -> web.Response:
    body = await json_object(request)
    no_other_fields(body, set())
    reference = await _visible(request)
    case, row = await request.app[CASES].eightd.sign(actor_of(request), reference, path_text(request, "step"))
    request.app[CASES].committed()
    return web.json_response(
        {"reference": case.reference, "state": case.state, "step": row.step, "version": row.version}
    )


async def return_eightd(request: web.Request) -> web.Response:
    body = await json_object(request)
    no_other_fields(body, {"step", "comment"})
    step, comment = text_field(body, "step"), text_field(body, "comment")
    reference = await _visible(request)
    case = await request.app[CASES].eightd.customer_return(actor_of(request), reference, step, comment)
    request.app[CASES].committed()
    return web.json_response({"reference": case.reference, "state": case.state})


async def eightd_document(request: web.Request) -> web.Response:
    """The 8D as the customer gets it: HTML, or PDF (the shared document renderer)."""
    language = query_choice(request, "language", list(render.LANGUAGES)) or "zh"
    kind = query_choice(request, "format", ["html", "pdf"]) or "pdf"
    settings = request.app[SETTINGS]
    async with request.app[DB].reader() as s:
        data = await eightd_views.eightd(s, scope_for(actor_of(request)), path_text(request, "reference"))
    header = render.Header.of(settings)
    html = render.eightd_html(data, header, language)
    if kind == "html":
        return web.Response(text=html, content_type="text/html", headers=render.HTML_HEADERS)
    pdf = await asyncio.to_thread(render.pdf, html)
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{data["reference"]}-8D.pdf"'},
    )


async def list_failure_modes(request: web.Request) -> web.Response:
    async with request.app[DB].reader() as s:
        return web.json_response({"items": await all_modes(s)})


async def put_failure_mode(request: web.Request) -> web.Response:
    body = await json_object(request)
    no_other_fields(body, {"name_zh", "name_en", "active"})
    active = body.get("active", True)
    if not isinstance(active, bool):
        raise RequestError("The field 'active' must be true or false.", zh="字段 active 须为 true 或 false")
    row = await request.app[CASES].put_failure_mode(
        actor_of(request), path_text(request, "code"), text_field(body, "name_zh"), text_field(body, "name_en"), active
    )
    return web.json_response(row)


async def list_severity_rules(request: web.Request) -> web.Response:
    async with request.app[DB].reader() as s:
        table = await rules(s)
    threshold = request.app[SETTINGS].severity_quantity_threshold
    return web.json_response(
        {
            "items": [{"category": c, "grade": g.value} for c, g in sorted(table.items())],
            "raisers": ["field_failure", f"quantity > {threshold}"],
        }
    )


async def put_severity_rule(request: web.Request) -> web.Response:
    body = await json_object(request)
    no_other_fields(body, {"grade"})
    row = await request.app[CASES].set_severity_rule(
        actor_of(request), path_text(request, "category"), text_field(body, "grade")
    )
    return web.json_response(row)
