"""The rule tables a person may keep from the console: the severity table (failure category ->
grade) and the failure-mode list. One page each, read by every case reader (as GET
/api/v1/severity-rules and /failure-modes), changed through the same CaseService calls as
the API's PUTs, which decide who may: admin or approver for severities, admin or quality for
failure modes (cases/quality/severity.py RULE_KEEPERS, failure_modes.py KEEPERS). The forms
are shown only to them; a forged post from anyone else is refused by the service.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from aiohttp import web

from cases.domain.enums import FailureCategory, Severity
from cases.domain.errors import CaseError
from cases.quality import failure_modes, severity
from kefu.console.admin_pages import refused
from kefu.console.web import render, session_of
from kefu.web.api.access import CASE_READERS
from kefu.web.api.support import CASES, DB, SETTINGS

log = logging.getLogger(__name__)


def _reader(request: web.Request) -> None:
    if not session_of(request).actor.roles & CASE_READERS:
        raise web.HTTPForbidden(text="for staff who read cases")


async def severity_page(request: web.Request) -> web.Response:
    _reader(request)
    async with request.app[DB].reader() as s:
        table = await severity.rules(s)
    rows = [{"category": c.value, "grade": table.get(c.value, Severity.MEDIUM).value} for c in FailureCategory]
    context = {
        "rows": rows,
        "grades": [g.value for g in severity.GRADES],
        "threshold": request.app[SETTINGS].severity_quantity_threshold,
        "may_edit": bool(session_of(request).actor.roles & severity.RULE_KEEPERS),
        "done": request.query.get("done"),
    }
    return render(request, "rules_severity.html", context)


async def set_severity(request: web.Request) -> web.Response:
    form = await request.post()
    sent = {k: v for k in ("category", "grade") if isinstance(v := form.get(k), str)}
    category, grade = sent.get("category", ""), sent.get("grade", "")
    try:
        await request.app[CASES].set_severity_rule(session_of(request).actor, category, grade)
    except CaseError as exc:
        return refused(request, exc)
    log.info("console: severity of %r set to %r by %r", category, grade, session_of(request).username)
    raise web.HTTPSeeOther(f"/rules/severity?done={quote(category)}")


async def failure_modes_page(request: web.Request) -> web.Response:
    _reader(request)
    async with request.app[DB].reader() as s:
        modes = await failure_modes.all_modes(s)
    context = {
        "modes": modes,
        "may_edit": bool(session_of(request).actor.roles & failure_modes.KEEPERS),
        "done": request.query.get("done"),
    }
    return render(request, "rules_failure_modes.html", context)


async def put_failure_mode(request: web.Request) -> web.Response:
    form = await request.post()

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    code = text("code").upper()
    try:
        await request.app[CASES].put_failure_mode(
            session_of(request).actor, code, text("name_zh"), text("name_en"), text("active") != "no"
        )
    except CaseError as exc:
        return refused(request, exc)
    log.info("console: failure mode %r kept by %r", code, session_of(request).username)
    raise web.HTTPSeeOther(f"/rules/failure-modes?done={quote(code)}")
