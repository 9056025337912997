"""The procedure's reports over the API (docs/reports.md): drafts computed on demand, issued
revisions listed and downloaded, a new revision issued. Charts and the PDF take CPU seconds:
they are rendered in a thread, not on the event loop."""

from __future__ import annotations

import asyncio

from aiohttp import web

from cases.reports import issued
from cases.reports.kinds import ReportKind, kind_of
from cases.reports.period import parse_period
from kefu.documents.render import Header
from kefu.reports import build
from kefu.web.api.cases import content_disposition
from kefu.web.api.support import (
    CLOCK,
    DB,
    SETTINGS,
    RequestError,
    actor_of,
    json_object,
    no_other_fields,
    path_text,
    query_choice,
    query_text,
    text_field,
)

LANGUAGES = ["zh", "en"]
# Our own page, escaped by jinja2 and with inline SVG: still no script, no outside resource.
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _file(content: bytes, fmt: str, name: str) -> web.Response:
    content_type = issued.FORMATS[fmt][0]
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": PAGE_POLICY}
    if fmt != "html":
        headers["Content-Disposition"] = content_disposition(name)
    return web.Response(body=content, headers={**headers, "Content-Type": content_type})


async def list_reports(request: web.Request) -> web.Response:
    kind = query_choice(request, "kind", [k.value for k in ReportKind])
    async with request.app[DB].reader() as s:
        found = await issued.issued(s, ReportKind(kind) if kind else None)
    return web.json_response({"items": found})


async def get_report_file(request: web.Request) -> web.Response:
    fmt = path_text(request, "format")
    if fmt not in issued.FORMATS:
        raise RequestError(
            f"format is one of {', '.join(issued.FORMATS)}, not {fmt!r}",
            zh=f"格式须为 {', '.join(issued.FORMATS)} 之一，而不是 {fmt!r}",
        )
    record_number = path_text(request, "record_number")
    async with request.app[DB].reader() as s:
        content, _, name = await issued.issued_file(s, record_number, fmt)
    return _file(content, fmt, name)


async def draft_report(request: web.Request) -> web.Response:
    kind = kind_of(path_text(request, "kind"))
    settings = request.app[SETTINGS]
    period = parse_period(query_text(request, "period") or "", settings.tz)
    language = query_choice(request, "language", LANGUAGES) or "zh"
    fmt = query_choice(request, "format", list(issued.FORMATS)) or "html"
    data = await build.draft(request.app[DB], kind, period, request.app[CLOCK]())
    docs = await asyncio.to_thread(build.documents, data, language, Header.of(settings), pdf=fmt == "pdf")
    content = {"html": docs.html.encode(), "xlsx": docs.xlsx, "pdf": docs.pdf}[fmt]
    if content is None:
        raise web.HTTPServiceUnavailable(reason="no PDF renderer (WeasyPrint with Pango) on this server")
    return _file(content, fmt, f"{kind.value}-{period.key}-draft.{issued.FORMATS[fmt][1]}")


async def issue_report(request: web.Request) -> web.Response:
    body = await json_object(request)
    no_other_fields(body, {"kind", "period", "language", "approved_by"})
    kind = kind_of(text_field(body, "kind"))
    settings = request.app[SETTINGS]
    period = parse_period(text_field(body, "period"), settings.tz)
    language = text_field(body, "language", required=False, default="zh") or "zh"
    if language not in LANGUAGES:
        raise RequestError(
            f"language is one of {', '.join(LANGUAGES)}, not {language!r}",
            zh=f"语言须为 {', '.join(LANGUAGES)} 之一，而不是 {language!r}",
        )
    actor = actor_of(request)
    issued.check_issuer(actor)
    summary, _ = await build.issue(
        request.app[DB],
        actor,
        kind,
        period,
        language,
        Header.of(settings),
        text_field(body, "approved_by"),
        request.app[CLOCK](),
    )
    return web.json_response(summary, status=201)
