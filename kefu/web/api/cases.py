"""Case endpoints: list, read, download an attachment, and the workflow steps.

Every workflow step is one row of `STEPS`: its URL segment, its body fields and the
CaseService call. The handler checks only that the caller may see the case (the department
rule); the service checks the transition table and the roles.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from cases.domain.actors import Actor
from cases.domain.enums import CaseState, CaseType, Channel, Severity
from cases.domain.errors import InvalidInput
from cases.domain.states import Action
from cases.queries import case_views as queries
from cases.queries.keyset import CURSOR_PATTERN, DEFAULT_SORT, SORTS
from cases.services.case_service import CaseService, StepResult
from kefu.web.api.access import scope_for
from kefu.web.api.support import (
    CASES,
    CLOCK,
    DB,
    ID_MIN,
    SETTINGS,
    RequestError,
    actor_of,
    json_object,
    no_other_fields,
    paging,
    path_id,
    path_text,
    query_choice,
    query_instant,
    query_int,
    query_text,
    text_field,
)

Fields = dict[str, str]


async def list_cases(request: web.Request) -> web.Response:
    tz = request.app[SETTINGS].tz
    state = query_choice(request, "state", [s.value for s in CaseState])
    limit, offset = paging(request)
    cursor = query_text(request, "cursor")
    if cursor is not None and not re.fullmatch(CURSOR_PATTERN, cursor):
        raise RequestError(
            "The query parameter 'cursor' is not a cursor (URL-safe base64): pass the 'next_cursor' of the "
            "previous page unchanged, or leave it out for the first page.",
            zh="查询参数 cursor 不是游标（URL 安全的 base64）：请原样传回上一页的 next_cursor，或在请求第一页时省略",
        )
    if cursor is not None and offset:
        raise InvalidInput(
            "Give either 'cursor' (the next page after it) or 'offset', not both.",
            zh="cursor（其后的下一页）和 offset 只能给出其一",
        )
    f = queries.CaseFilter(
        state=CaseState(state) if state else None,
        department=query_text(request, "department"),
        type=query_choice(request, "type", [t.value for t in CaseType]),
        customer_id=query_int(request, "customer_id", None, minimum=ID_MIN),
        q=query_text(request, "q"),
        received_from=query_instant(request, "received_from", tz),
        received_to=query_instant(request, "received_to", tz, end_of_day=True),
        limit=limit,
        offset=offset,
        sort=query_choice(request, "sort", list(SORTS)) or DEFAULT_SORT,
        cursor=cursor,
    )
    async with request.app[DB].reader() as s:
        return web.json_response(await queries.list_cases(s, scope_for(actor_of(request)), f))


async def get_case(request: web.Request) -> web.Response:
    actor = actor_of(request)
    async with request.app[DB].reader() as s:
        detail = await queries.case_detail(
            s, scope_for(actor), path_text(request, "reference"), actor, request.app[CLOCK]()
        )
    detail["allowed_actions"] = step_names(detail["allowed_actions"])
    return web.json_response(detail)


async def get_attachment(request: web.Request) -> web.Response:
    """The file as a download, never rendered from our origin (django-helpdesk's stored XSS)."""
    attachment_id = path_id(request, "attachment_id")
    async with request.app[DB].reader() as s:
        f = await queries.attachment(s, scope_for(actor_of(request)), path_text(request, "reference"), attachment_id)
    return web.Response(
        body=f.data,
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Disposition": content_disposition(f.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, no-store",
        },
    )


async def get_message_html(request: web.Request) -> web.Response:
    """The sanitised HTML of a message as a file to download, never rendered from our origin."""
    message_id = path_id(request, "message_id")
    reference = path_text(request, "reference")
    async with request.app[DB].reader() as s:
        html = await queries.message_html(s, scope_for(actor_of(request)), reference, message_id)
    return web.Response(
        body=html.encode("utf-8"),
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Disposition": content_disposition(f"{reference.strip().upper()}-message-{message_id}.html"),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, no-store",
        },
    )


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback name, and the real (often Chinese) name as filename*."""
    # No quote, backslash or semicolon in the fallback: nothing can break out of the parameter.
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename)
    fallback = fallback or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


# -- workflow -------------------------------------------------------------------------------
StepCall = Callable[[CaseService, Actor, str, Fields], Awaitable[StepResult]]


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    description: str
    required: bool = True
    choices: tuple[str, ...] = ()  # for the API description; the service checks the value


@dataclass(frozen=True, slots=True)
class Step:
    """One workflow endpoint: POST /api/v1/cases/{reference}/<segment>."""

    name: str  # the route name (ACCESS and the API description use it)
    segment: str
    action: Action | None  # the transition it takes, as named in a case's allowed_actions
    summary: str
    fields: tuple[Field, ...]
    call: StepCall


STEPS: tuple[Step, ...] = (
    Step(
        "approve",
        "approve",
        Action.APPROVE,
        "Approve the case and assign the responsible department (approver)",
        (
            Field("department", "a department code from GET /departments"),
            Field("severity", "low, medium, high or critical", required=False, choices=tuple(Severity)),
            Field("note", "why, for the history", required=False),
            Field(
                "deadline",
                "the customer's deadline: 2026-12-15 (end of that day) or 2026-12-15T17:00+08:00",
                required=False,
            ),
        ),
        lambda svc, a, ref, f: svc.approve(
            a, ref, f["department"], f.get("severity") or None, f.get("note", ""), f.get("deadline") or None
        ),
    ),
    Step(
        "no_action",
        "no-action",
        Action.DECIDE_NO_ACTION,
        "Decide 不做处理 (no action), with the reason told to the customer (approver)",
        (Field("reason", "why no action is taken"),),
        lambda svc, a, ref, f: svc.decide_no_action(a, ref, f["reason"]),
    ),
    Step(
        "reassign",
        "reassign",
        Action.REASSIGN,
        "Move the case to another department (approver)",
        (
            Field("department", "a department code from GET /departments"),
            Field("note", "why, for the history", required=False),
        ),
        lambda svc, a, ref, f: svc.reassign(a, ref, f["department"], f.get("note", "")),
    ),
    Step(
        "analysis",
        "analysis",
        Action.RECORD_ANALYSIS,
        "Record the cause analysis (the case's department, or quality)",
        (Field("analysis", "the cause analysis"),),
        lambda svc, a, ref, f: svc.record_analysis(a, ref, f["analysis"]),
    ),
    Step(
        "measures",
        "measures",
        Action.RECORD_MEASURES,
        "Record corrective and preventive measures (the case's department, or quality)",
        (Field("measures", "the corrective and preventive action taken"),),
        lambda svc, a, ref, f: svc.record_measures(a, ref, f["measures"]),
    ),
    Step(
        "verify",
        "verify",
        Action.VERIFY,
        "Verify that the measures are effective (quality)",
        (Field("verification", "how the measures were verified"),),
        lambda svc, a, ref, f: svc.verify(a, ref, f["verification"]),
    ),
    Step(
        "reject_verification",
        "reject-verification",
        Action.REJECT_VERIFICATION,
        "Measures not effective: back to the department (quality)",
        (Field("note", "why the measures are not effective"),),
        lambda svc, a, ref, f: svc.reject_verification(a, ref, f["note"]),
    ),
    Step(
        "reply",
        "reply",
        Action.REPLY,
        "Report the result to the customer and ask for 满意度确认 (sales)",
        (Field("message", "the reply sent to the customer"),),
        lambda svc, a, ref, f: svc.reply(a, ref, f["message"]),
    ),
    Step(
        "record_rating",
        "rating",
        Action.RECORD_RATING,
        "Record the satisfaction rating the customer gave by phone or on site: 满意 / 一般 close, "
        "不满意 reopens (sales)",
        (
            Field("rating", "非常满意 / 满意 / 一般 / 不满意 / 非常不满意, the English words, a score 1-5 or stars"),
            Field("channel", "how the customer gave it", choices=tuple(Channel)),
            Field("note", "what the customer said, for the history", required=False),
        ),
        lambda svc, a, ref, f: svc.record_rating(a, ref, f["rating"], f["channel"], f.get("note", "")),
    ),
    Step(
        "set_deadline",
        "deadline",
        None,
        "Record or move the customer's deadline for the answer or CAPA (approver, sales or quality)",
        (
            Field("deadline", "2026-12-15 (end of that day) or 2026-12-15T17:00+08:00"),
            Field("note", "why, for the history", required=False),
        ),
        lambda svc, a, ref, f: svc.set_deadline(a, ref, f["deadline"], f.get("note", "")),
    ),
    Step(
        "add_note",
        "notes",
        None,
        "Add an internal note (never sent to the customer)",
        (Field("text", "the note"),),
        lambda svc, a, ref, f: svc.add_note(a, ref, f["text"]),
    ),
)


# The route each transition is taken by; staff record a satisfied and an unsatisfied answer
# by the same route.
ROUTE_OF: dict[str, str] = {s.action.value: s.segment for s in STEPS if s.action is not None}
ROUTE_OF[Action.RECORD_UNSATISFIED.value] = "rating"


def step_names(actions: list[str]) -> list[str]:
    """A case's allowed actions as the routes that take them (POST /cases/{reference}/<name>)."""
    return list(dict.fromkeys(ROUTE_OF[a] for a in actions if a in ROUTE_OF))


def step_handler(step: Step) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        actor = actor_of(request)
        reference = path_text(request, "reference")
        body = await json_object(request)
        no_other_fields(body, {f.name for f in step.fields})
        fields = {f.name: text_field(body, f.name, required=f.required) for f in step.fields}
        # The department rule before the service: a case of another department is "not found".
        async with request.app[DB].reader() as s:
            await queries.ensure_visible(s, scope_for(actor), reference)
        result = await step.call(request.app[CASES], actor, reference, fields)
        return web.json_response({"reference": result.reference, "state": result.state})

    handle.__name__ = handle.__qualname__ = f"step_{step.name}"
    handle.__doc__ = step.summary
    return handle
