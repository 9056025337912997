"""The procedure's reports in the console (docs/reports.md): the issued revisions with their
downloads, a draft for a period, and issuing the next revision.

Nothing here counts or renders: the pages call what the API's handlers call
(kefu/web/api/reports.py): `build.draft` and `build.documents` for a draft, `build.issue` for a
revision, `issued.issued` and `issued.issued_file` for the records. Who may open the pages is the
API's access table (`ACCESS`, kefu/web/api/access.py); who may issue is the service's rule
(`issued.check_issuer`), asked again by `build.issue`. Charts and the PDF cost CPU seconds: a
draft is rendered in a thread, as the API does (and `build.issue` renders in one).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

from aiohttp import web

from cases.domain.actors import Actor
from cases.domain.enums import Language
from cases.domain.errors import CaseError, Forbidden, InvalidInput, NotFound
from cases.reports import issued
from cases.reports.kinds import REPORTS, ReportKind, kind_of
from cases.reports.period import Period, parse_period, previous_quarter
from kefu.console.case_pages import STATUS
from kefu.console.i18n import translate
from kefu.console.web import CONSOLE_SETTINGS, render, session_of
from kefu.documents.render import Header
from kefu.reports import build
from kefu.web.api.access import ACCESS
from kefu.web.api.cases import content_disposition
from kefu.web.api.reports import LANGUAGES, PAGE_POLICY
from kefu.web.api.support import CLOCK, DB

log = logging.getLogger(__name__)


def _may(actor: Actor, route: str) -> bool:
    """The API's rule for the route of the same name (the console asks the same table)."""
    roles = ACCESS[route]
    return isinstance(roles, frozenset) and bool(actor.roles & roles)


def _check(actor: Actor, route: str) -> None:
    if not _may(actor, route):
        raise web.HTTPForbidden(text=f"no role for {route}")


def may_issue(actor: Actor) -> bool:
    """The service's rule, asked rather than copied: the issue form shows only to its issuers."""
    try:
        issued.check_issuer(actor)
    except Forbidden:
        return False
    return _may(actor, "issue_report")


def _period(form: Any, tz: Any) -> Period:
    """A quarter (2026Q3), a year (2026), or two dates: the `period` field, else from..to."""
    text = str(form.get("period") or "").strip()
    first, last = str(form.get("first_day") or "").strip(), str(form.get("last_day") or "").strip()
    if not text and (first or last):
        text = f"{first}..{last}"
    return parse_period(text, tz)


def _language(form: Any, fallback: Language) -> str:
    language = str(form.get("language") or fallback.value)
    if language not in LANGUAGES:
        raise InvalidInput(
            f"language is one of {', '.join(LANGUAGES)}, not {language!r}",
            zh=f"语言须为 {', '.join(LANGUAGES)} 之一，而不是 {language!r}",
        )
    return language


async def reports_page(
    request: web.Request, error: str | None = None, status: int = 200, form: Any = None
) -> web.Response:
    session = session_of(request)
    _check(session.actor, "list_reports")
    tz = request.app[CONSOLE_SETTINGS].tz
    today: date = request.app[CLOCK]().astimezone(tz).date()
    async with request.app[DB].reader() as s:
        found = await issued.issued(s)
    english = session.language is Language.EN
    titles = {k.value: REPORTS[k].title_en if english else REPORTS[k].title_zh for k in ReportKind}
    done = request.query.get("issued", "")
    message = None
    if done and any(r["record_number"] == done for r in found):
        message = translate("report_issued_done", session.language, number=done)
    return render(
        request,
        "reports.html",
        {
            "reports": found,
            "titles": titles,
            "default_period": previous_quarter(today, tz).key,
            "may_issue": may_issue(session.actor),
            "message": message,
            "error": error,
            "form": form or {},
        },
        status=status,
    )


def _document(content: bytes, fmt: str, name: str) -> web.Response:
    """A report's file with the API's headers: the page allows no script and nothing from
    outside (PAGE_POLICY); the PDF and the workbook are downloads."""
    content_type, _ = issued.FORMATS[fmt]
    headers = {
        "Content-Type": content_type,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": PAGE_POLICY,
    }
    if fmt != "html":
        headers["Content-Disposition"] = content_disposition(name)
    return web.Response(body=content, headers=headers)


async def draft(request: web.Request) -> web.Response:
    """A draft counted now and not kept: the page (default), or its PDF or workbook."""
    session = session_of(request)
    _check(session.actor, "draft_report")
    settings = request.app[CONSOLE_SETTINGS]
    query = request.query
    fmt = query.get("format") or "html"
    try:
        if fmt not in issued.FORMATS:
            raise InvalidInput(
                f"format is one of {', '.join(issued.FORMATS)}, not {fmt!r}",
                zh=f"格式须为 {', '.join(issued.FORMATS)} 之一，而不是 {fmt!r}",
            )
        kind = kind_of(query.get("kind", ""))
        period = _period(query, settings.tz)
        language = _language(query, session.language)
    except InvalidInput as exc:
        return await reports_page(
            request, translate("refused", session.language, message=exc.text(session.language)), 422, dict(query)
        )
    data = await build.draft(request.app[DB], kind, period, request.app[CLOCK]())
    docs = await asyncio.to_thread(build.documents, data, language, Header.of(settings), pdf=fmt == "pdf")
    content = {"html": docs.html.encode(), "xlsx": docs.xlsx, "pdf": docs.pdf}[fmt]
    if content is None:
        return render(request, "error.html", {"message": translate("report_no_pdf", session.language)}, status=503)
    log.info("console: draft %s %s (%s) by %r", kind.value, period.key, fmt, session.username)
    return _document(content, fmt, f"{kind.value}-{period.key}-draft.{issued.FORMATS[fmt][1]}")


async def issue(request: web.Request) -> web.Response:
    session = session_of(request)
    actor = session.actor
    _check(actor, "issue_report")
    settings = request.app[CONSOLE_SETTINGS]
    form = await request.post()
    try:
        kind = kind_of(str(form.get("kind") or ""))
        period = _period(form, settings.tz)
        language = _language(form, session.language)
        summary, _ = await build.issue(
            request.app[DB],
            actor,
            kind,
            period,
            language,
            Header.of(settings),
            str(form.get("approved_by") or ""),
            request.app[CLOCK](),
        )
    except CaseError as exc:
        log.warning("console: %r may not issue a report: %s", session.username, exc)
        status = next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)
        return await reports_page(
            request, translate("refused", session.language, message=exc.text(session.language)), status, dict(form)
        )
    log.info("console: %s issued by %r", summary["record_number"], session.username)
    raise web.HTTPSeeOther(f"/reports?issued={summary['record_number']}")


async def issued_file(request: web.Request) -> web.Response:
    """An issued report as issued (the page, the PDF or the workbook)."""
    session = session_of(request)
    _check(session.actor, "get_report_file")
    fmt = request.match_info["format"]
    if fmt not in issued.FORMATS:
        raise web.HTTPNotFound()
    try:
        async with request.app[DB].reader() as s:
            content, _, name = await issued.issued_file(s, request.match_info["record_number"], fmt)
    except NotFound:
        return render(request, "error.html", {"message": translate("not_found", session.language)}, status=404)
    return _document(content, fmt, name)
