"""The departments page: every staff reader sees the list (code, names, members, open cases);
admins add, rename, deactivate and reactivate, through the same service as `kefu department`
(cases/services/departments.py), which decides who may and refuses a deactivation while the
department still has open cases or active members. A forged post from anyone else is refused
by the service and logged; nothing changes.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from aiohttp import web

from cases.domain.enums import Role
from cases.domain.errors import CaseError
from cases.services.departments import CODE, DepartmentInUse
from kefu.console.admin_pages import refused
from kefu.console.i18n import translate
from kefu.console.web import DEPARTMENTS, render, session_of
from kefu.web.api.access import CASE_READERS

log = logging.getLogger(__name__)


def _reader(request: web.Request) -> None:
    if not session_of(request).actor.roles & CASE_READERS:
        raise web.HTTPForbidden(text="for staff who read cases")


async def departments_page(request: web.Request) -> web.Response:
    _reader(request)
    rows = await request.app[DEPARTMENTS].list()
    context = {
        "rows": rows,
        # for label("department", ...): the names as stored (web.render)
        "departments": [{"code": d.code, "name_zh": d.name_zh, "name_en": d.name_en} for d in rows],
        "may_edit": Role.ADMIN in session_of(request).actor.roles,
        "code_pattern": CODE.pattern,
        "done": request.query.get("done"),
        "history": await request.app[DEPARTMENTS].history(),
    }
    return render(request, "departments.html", context)


async def _text(request: web.Request, name: str) -> str:
    value = (await request.post()).get(name)
    return value.strip() if isinstance(value, str) else ""


def _refused(request: web.Request, exc: CaseError, what: str) -> web.Response:
    log.warning("console: department %s refused to %r: %s", what, session_of(request).username, exc)
    if isinstance(exc, DepartmentInUse):
        message = translate(
            "department_in_use",
            session_of(request).language,
            code=exc.department,
            cases=exc.open_cases,
            members=exc.members,
        )
        return render(request, "error.html", {"message": message}, status=409)
    return refused(request, exc)


async def add_department(request: web.Request) -> web.Response:
    actor = session_of(request).actor
    code = await _text(request, "code")
    try:
        await request.app[DEPARTMENTS].add(
            actor, code, await _text(request, "name_zh"), await _text(request, "name_en")
        )
    except CaseError as exc:
        return _refused(request, exc, f"add {code!r}")
    log.info("console: department %r added by %r", code, session_of(request).username)
    raise web.HTTPSeeOther(f"/departments?done={quote(code)}")


async def rename_department(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    try:
        await request.app[DEPARTMENTS].rename(
            session_of(request).actor, code, await _text(request, "name_zh"), await _text(request, "name_en")
        )
    except CaseError as exc:
        return _refused(request, exc, f"rename {code!r}")
    log.info("console: department %r renamed by %r", code, session_of(request).username)
    raise web.HTTPSeeOther(f"/departments?done={quote(code)}")


async def set_active(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    active = request.match_info["what"] == "enable"
    try:
        await request.app[DEPARTMENTS].set_active(session_of(request).actor, code, active)
    except CaseError as exc:
        return _refused(request, exc, f"{request.match_info['what']} {code!r}")
    log.info("console: department %r %sd by %r", code, request.match_info["what"], session_of(request).username)
    raise web.HTTPSeeOther(f"/departments?done={quote(code)}")
