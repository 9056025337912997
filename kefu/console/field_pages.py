"""The field data in the console (docs/field-data.md): the early-warning alerts with their cases
and the acknowledgement, and a batch's trace for a recall (procedure 6.5.2 c and e).

The pages call what the API's handlers call (kefu/web/api/field.py): `alerts.list_alerts`,
`alerts.alert_detail`, `EarlyWarning.acknowledge`, `batches.batch_trace`; who may open them is
the API's access table, who may acknowledge the service's rule (`alerts.ACKNOWLEDGERS`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cases.domain.actors import Actor
from cases.domain.errors import CaseError, InvalidInput, NotFound
from cases.field import alerts, batches
from cases.field.alerts import ACKNOWLEDGERS, Decision
from kefu.console.case_pages import STATUS
from kefu.console.i18n import translate
from kefu.console.web import render, session_of
from kefu.web.api.access import ACCESS
from kefu.web.api.support import DB, EARLY_WARNING

PAGE = 50


def _check(actor: Actor, route: str) -> None:
    """The API's rule for the route of the same name."""
    roles = ACCESS[route]
    if not (isinstance(roles, frozenset) and actor.roles & roles):
        raise web.HTTPForbidden(text=f"no role for {route}")


def _alert_id(request: web.Request) -> int:
    text = request.match_info["alert_id"]
    if not text.isdigit() or len(text) > 12:
        raise web.HTTPNotFound()
    return int(text)


async def warnings_page(request: web.Request) -> web.Response:
    session = session_of(request)
    _check(session.actor, "list_warning_alerts")
    every = request.query.get("all") == "1"
    async with request.app[DB].reader() as s:
        found = await alerts.list_alerts(s, not every, PAGE, 0)
    return render(request, "warnings.html", {"alerts": found, "every": every})


async def warning_page(request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
    session = session_of(request)
    _check(session.actor, "get_warning_alert")
    async with request.app[DB].reader() as s:
        try:
            alert = await alerts.alert_detail(s, _alert_id(request))
        except NotFound:
            raise web.HTTPNotFound() from None
    context: dict[str, Any] = {
        "alert": alert,
        "decisions": [d.value for d in Decision],
        "may_acknowledge": bool(session.actor.roles & ACKNOWLEDGERS) and alert["acknowledged_at"] is None,
        "done": request.query.get("done") == "1",
        "error": error,
    }
    return render(request, "warning.html", context, status=status)


async def acknowledge(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    _check(session.actor, "acknowledge_warning_alert")
    alert_id = _alert_id(request)
    form = await request.post()
    decision, note = str(form.get("decision", "")), str(form.get("note", "")).strip()
    try:
        await request.app[EARLY_WARNING].acknowledge(session.actor, alert_id, decision, note)
    except NotFound:
        raise web.HTTPNotFound() from None
    except CaseError as exc:
        status = next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)
        return await warning_page(
            request, error=translate("refused", session.language, message=exc.text(session.language)), status=status
        )
    raise web.HTTPSeeOther(f"/warnings/{alert_id}?done=1")


async def batch_page(request: web.Request) -> web.Response:
    session = session_of(request)
    _check(session.actor, "get_batch")
    batch = request.query.get("batch", "").strip()
    trace, error, status = None, "", 200
    if batch:
        async with request.app[DB].reader() as s:
            try:
                trace = await batches.batch_trace(s, batch)
            except NotFound:
                error, status = translate("batch_unknown", session.language, batch=batch), 404
            except InvalidInput as exc:
                error, status = translate("bad_filter", session.language, message=exc.text(session.language)), 422
    return render(request, "batch.html", {"batch": batch, "trace": trace, "error": error}, status=status)
