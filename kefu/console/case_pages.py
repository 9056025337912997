"""The case list and the case page, with the workflow steps as forms.

The steps are the REST API's table (`STEPS`, kefu/web/api/cases.py) and go through the same
CaseService calls: the console offers a form only for a step the signed-in person may take
now, and a forged post of any other is refused twice over, here and by the service.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from cases.domain.actors import Actor
from cases.domain.enums import CaseState, CaseType, Channel, Severity
from cases.domain.errors import CaseError, Conflict, Forbidden, IllegalTransition, InvalidInput, NotFound
from cases.domain.states import DEADLINE_RUNS, DEADLINE_SETTERS
from cases.queries import case_views as queries
from kefu.console.i18n import LABELS, translate
from kefu.console.web import CONSOLE_SETTINGS, REFUSALS, render, session_of
from kefu.web.api.access import CASE_READERS, scope_for
from kefu.web.api.cases import STEPS, Step, content_disposition
from kefu.web.api.support import CASES, CLOCK, DB

log = logging.getLogger(__name__)

PAGE_SIZE = 50
STEP_BY_SEGMENT = {step.segment: step for step in STEPS}
# A refused step's page answers with the status the API would (kefu/web/app.py, STATUS).
STATUS: dict[type[CaseError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Forbidden: 403,
    IllegalTransition: 409,
    Conflict: 409,
    CaseError: 400,
}
LONG_FIELDS = frozenset({"analysis", "measures", "verification", "message", "text", "reason", "note"})


def _may_read(actor: Actor) -> None:
    if not actor.roles & CASE_READERS:
        raise web.HTTPForbidden(text="no case role")


def offered_steps(detail: dict[str, Any], actor: Actor) -> list[Step]:
    """The forms the case page shows: the transitions the table allows this person now, the
    customer's deadline for those who agree it, and a note for every reader."""
    allowed = set(detail["allowed_actions"])
    offered = [s for s in STEPS if s.action is not None and s.action.value in allowed]
    if actor.roles & DEADLINE_SETTERS and CaseState(detail["state"]) in DEADLINE_RUNS:
        offered.append(STEP_BY_SEGMENT["deadline"])
    offered.append(STEP_BY_SEGMENT["notes"])
    return offered


# -- the list -------------------------------------------------------------------------------
def _choice(value: str | None, allowed: list[str]) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise InvalidInput(f"unknown value {value!r}", zh=f"未知的值 {value!r}")
    return value


def _day(value: str | None, tz: Any, *, after: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{value!r} is not a date like 2026-12-05", zh=f"{value!r} 不是日期，日期格式如 2026-12-05"
        ) from None
    if after:
        day += timedelta(days=1)
    return datetime.combine(day, time(), tz)


def case_filter(query: Any, tz: Any, now: datetime) -> queries.CaseFilter:
    state = _choice(query.get("state"), [s.value for s in CaseState])
    page = query.get("page", "1")
    page_number = int(page) if page.isdigit() and 0 < int(page) < 20000 else 1
    customer_id = query.get("customer_id", "")
    return queries.CaseFilter(
        state=CaseState(state) if state else None,
        department=query.get("department") or None,
        type=_choice(query.get("type"), [t.value for t in CaseType]),
        customer_id=int(customer_id) if customer_id.isdigit() and len(customer_id) < 18 else None,
        customer_name=(query.get("customer") or "").strip() or None,
        q=(query.get("q") or "").strip() or None,
        received_from=_day(query.get("received_from"), tz),
        received_to=_day(query.get("received_to"), tz, after=True),
        channel=_choice(query.get("channel"), [c.value for c in Channel]),
        severity=_choice(query.get("severity"), [s.value for s in Severity]),
        part_number=(query.get("part_number") or "").strip() or None,
        batch=(query.get("batch") or "").strip() or None,
        overdue=query.get("overdue") == "1",
        now=now,
        sort=_sort(query.get("sort"), query.get("order", "desc") != "asc"),
        limit=PAGE_SIZE,
        offset=(page_number - 1) * PAGE_SIZE,
    )


# The console's sort choices and the list's keyset orders (cases/queries/keyset.py) behind them,
# with the direction a column heading sorts in when first clicked: the newest, the most severe
# first; references, deadlines and states from the start. A second click turns it round.
SORTS = {
    "received": "received_at",
    "updated": "updated_at",
    "reference": "reference",
    "deadline": "customer_deadline",
    "severity": "severity",
    "state": "state",
}
FIRST_ORDER = {"received": "desc", "updated": "desc", "severity": "desc"}  # the others "asc"
# The headings above the list, in the order of a row's fields.
HEADINGS = ("reference", "state", "severity", "deadline", "received", "updated")


def _sort(key: str | None, descending: bool) -> str:
    column = SORTS.get(key or "received")
    if column is None:
        raise InvalidInput(
            f"unknown sort key {key!r}; one of: {', '.join(SORTS)}",
            zh=f"未知的排序键 {key!r}；可选：{', '.join(SORTS)}",
        )
    return ("-" if descending else "") + column


def sort_headings(query: Any) -> list[dict[str, Any]]:
    """The column headings: each a link to the list sorted by it (the other way round when it
    is the current sort), the filters kept, back on page 1."""
    current = query.get("sort") or "received"
    order = "asc" if query.get("order") == "asc" else "desc"
    kept = {k: v for k, v in query.items() if k not in ("sort", "order", "page") and v}
    headings = []
    for key in HEADINGS:
        active = key == current
        first = FIRST_ORDER.get(key, "asc")
        then = ("asc" if order == "desc" else "desc") if active else first
        headings.append(
            {
                "key": key,
                "query": {**kept, "sort": key, "order": then},
                "order": order if active else None,
            }
        )
    return headings


async def case_list(request: web.Request) -> web.Response:
    session = session_of(request)
    _may_read(session.actor)
    tz = request.app[CONSOLE_SETTINGS].tz
    error = None
    page: dict[str, Any] = {"items": [], "total": 0}
    f = queries.CaseFilter()
    async with request.app[DB].reader() as s:
        departments = await queries.departments(s)
        try:
            f = case_filter(request.query, tz, request.app[CLOCK]())
            page = await queries.list_cases(s, scope_for(session.actor), f)
        except InvalidInput as exc:
            error = translate("bad_filter", session.language, message=exc.text(session.language))
    pages = max(1, -(-page["total"] // PAGE_SIZE))
    current = f.offset // PAGE_SIZE + 1
    kept = {k: v for k, v in request.query.items() if k != "page" and v}
    return render(
        request,
        "cases.html",
        {
            "page": page,
            "query": request.query,
            "kept": kept,
            "current": current,
            "pages": pages,
            "error": error,
            "departments": departments,
            "states": list(CaseState),
            "types": list(CaseType),
            "channels": list(Channel),
            "severities": list(Severity),
            "sorts": list(SORTS),
            "headings": sort_headings(request.query),
        },
        status=400 if error else 200,
    )


# -- one case -------------------------------------------------------------------------------
async def case_page(request: web.Request) -> web.Response:
    return await _render_case(request, request.match_info["reference"])


async def _render_case(
    request: web.Request, reference: str, error: str | None = None, status: int = 200, form: Any = None
) -> web.Response:
    session = session_of(request)
    _may_read(session.actor)
    try:
        async with request.app[DB].reader() as s:
            detail = await queries.case_detail(
                s, scope_for(session.actor), reference, session.actor, request.app[CLOCK]()
            )
            departments = await queries.departments(s, with_active=True)
    except NotFound:
        # after the reader is closed: SQLite's pool has one connection
        await request.app[REFUSALS].record(session.actor, reference, "console: open the case page")
        return render(request, "error.html", {"message": translate("not_found", session.language)}, status=404)
    done = request.query.get("done")
    state_label = LABELS["state"][detail["state"]][session.language.value]
    message = None
    if done in ("logged", "logged_before"):  # from Log an entry (entry_pages.py)
        message = translate(f"entry_{done}", session.language, ref=detail["reference"])
    elif done in STEP_BY_SEGMENT:
        message = (
            translate("note_added", session.language)
            if done == "notes"
            else translate("deadline_saved", session.language)
            if done == "deadline"
            else translate("step_done", session.language, ref=detail["reference"], state=state_label)
        )
    return render(
        request,
        "case.html",
        {
            "case": detail,
            "steps": offered_steps(detail, session.actor),
            "departments": departments,
            "severities": list(Severity),
            "long_fields": LONG_FIELDS,
            "message": message,
            "error": error,
            "form": form or {},
        },
        status=status,
    )


async def take_step(request: web.Request) -> web.Response:
    session = session_of(request)
    actor = session.actor
    _may_read(actor)
    reference = request.match_info["reference"].strip().upper()
    step = STEP_BY_SEGMENT.get(request.match_info["segment"])
    if step is None:
        raise web.HTTPNotFound()
    form = await request.post()
    try:
        async with request.app[DB].reader() as s:
            # The department rule first: another department's case is "not found", as on reads.
            detail = await queries.case_detail(s, scope_for(actor), reference, actor, request.app[CLOCK]())
        if step not in offered_steps(detail, actor):
            log.warning(
                "console: %r posted %s on %s, which is not offered to them: refused",
                session.username,
                step.segment,
                reference,
            )
            raise Forbidden(
                f"{step.segment} is not a step you may take on {reference} now",
                zh=f"您现在不能对 {reference} 执行 {step.segment}",
            )
        fields = {}
        for field in step.fields:
            value = form.get(field.name)
            text = value.strip() if isinstance(value, str) else ""
            if field.required and not text:
                raise InvalidInput(f"{field.name} must not be empty", zh=f"{field.name} 不能为空")
            fields[field.name] = text
        await step.call(request.app[CASES], actor, reference, fields)
    except NotFound:
        await request.app[REFUSALS].record(actor, reference, f"console: step {step.segment}")
        return render(request, "error.html", {"message": translate("not_found", session.language)}, status=404)
    except CaseError as exc:
        if isinstance(exc, Forbidden):
            await request.app[REFUSALS].record(actor, reference, f"console: step {step.segment}: {exc}")
        status = next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)
        message = translate("refused", session.language, message=exc.text(session.language))
        return await _render_case(request, reference, error=message, status=status, form=dict(form))
    log.info("console: %s on %s by %r", step.segment, reference, session.username)
    raise web.HTTPSeeOther(f"/cases/{reference}?done={step.segment}")


async def attachment(request: web.Request) -> web.Response:
    """A download, never rendered from our origin (the same headers as the API's)."""
    session = session_of(request)
    _may_read(session.actor)
    raw_id = request.match_info["attachment_id"]
    if not raw_id.isdigit() or len(raw_id) > 18:
        raise web.HTTPNotFound()
    try:
        async with request.app[DB].reader() as s:
            f = await queries.attachment(s, scope_for(session.actor), request.match_info["reference"], int(raw_id))
    except NotFound:
        await request.app[REFUSALS].record(
            session.actor, request.match_info["reference"], f"console: download attachment {raw_id}"
        )
        return render(request, "error.html", {"message": translate("not_found", session.language)}, status=404)
    return web.Response(
        body=f.data,
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Disposition": content_disposition(f.filename),
            "Content-Security-Policy": "sandbox; default-src 'none'",
        },
    )
