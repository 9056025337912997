"""Agreed deadlines (docs/quality.md): overdue steps, a case's step marked done, customers'
service agreements, and the editable working-day calendar."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cases.quality import agreements, calendar
from cases.queries import case_views, quality_views
from kefu.web.api.access import scope_for
from kefu.web.api.support import (
    CASES,
    CLOCK,
    DB,
    RequestError,
    actor_of,
    int_field,
    json_object,
    no_other_fields,
    paging,
    path_id,
    path_text,
    text_field,
    whole_number,
)

MAX_AMOUNT = max(agreements.MAX_AMOUNT.values())


async def list_overdue(request: web.Request) -> web.Response:
    limit, offset = paging(request)
    async with request.app[DB].reader() as s:
        found = await quality_views.overdue(s, scope_for(actor_of(request)), request.app[CLOCK](), limit, offset)
    return web.json_response(found)


async def mark_step_done(request: web.Request) -> web.Response:
    reference = path_text(request, "reference")
    step = path_text(request, "step")
    async with request.app[DB].reader() as s:
        await case_views.ensure_visible(s, scope_for(actor_of(request)), reference)
    result = await request.app[CASES].mark_step_done(actor_of(request), reference, step)
    return web.json_response({"reference": result.reference, "state": result.state})


async def get_agreement(request: web.Request) -> web.Response:
    customer_id = path_id(request, "customer_id", "customer id")
    async with request.app[DB].reader() as s:
        found = await agreements.agreement_view(s, customer_id, request.app[CASES].due_steps.defaults)
    return web.json_response(found)


def _terms(body: dict[str, Any]) -> list[agreements.Term]:
    raw = body.get("terms")
    if not isinstance(raw, list):
        raise RequestError(
            "The field 'terms' is required (an array of {step, amount, unit}).",
            zh="字段 terms 为必填项（由 {step, amount, unit} 组成的数组）",
        )
    terms = []
    for item in raw:
        if not isinstance(item, dict):
            raise RequestError(
                "Each term must be an object {step, amount, unit}.", zh="每个条款须为对象 {step, amount, unit}"
            )
        no_other_fields(item, {"step", "amount", "unit"})
        amount = int_field(item, "amount", minimum=1, maximum=MAX_AMOUNT)
        assert amount is not None  # required
        terms.append(agreements.term(text_field(item, "step"), amount, text_field(item, "unit")))
    return terms


async def put_agreement(request: web.Request) -> web.Response:
    customer_id = path_id(request, "customer_id", "customer id")
    body = await json_object(request)
    no_other_fields(body, {"terms"})
    terms = _terms(body)
    service = request.app[CASES]
    async with request.app[DB].unit_of_work() as s:
        await agreements.replace_terms(s, actor_of(request), customer_id, terms, request.app[CLOCK]())
    async with request.app[DB].reader() as s:
        found = await agreements.agreement_view(s, customer_id, service.due_steps.defaults)
    return web.json_response(found)


async def get_calendar(request: web.Request) -> web.Response:
    year = whole_number(request.match_info["year"], "The year", minimum=calendar.FIRST_YEAR, maximum=calendar.LAST_YEAR)
    async with request.app[DB].reader() as s:
        return web.json_response(await calendar.year_view(s, year))


async def put_calendar_day(request: web.Request) -> web.Response:
    day = path_text(request, "day")
    body = await json_object(request)
    no_other_fields(body, {"kind", "note"})
    kind, note = text_field(body, "kind"), text_field(body, "note", required=False)
    async with request.app[DB].unit_of_work() as s:
        row = await calendar.put_day(s, actor_of(request), day, kind, note, request.app[CLOCK]())
        result = calendar.entry_row(row)
    return web.json_response(result)


async def delete_calendar_day(request: web.Request) -> web.Response:
    day = path_text(request, "day")
    async with request.app[DB].unit_of_work() as s:
        await calendar.delete_day(s, actor_of(request), day)
    return web.json_response({"day": day.strip(), "deleted": True})
