""" "Export this list": the case list's matching cases as an Excel workbook.

The same filter and search as the page (`case_pages.case_filter`) and the same department rule
(`scope_for`): a person exports exactly the cases the list shows them, every page of it, read
in pages of the list's own query (keyset by its cursor) up to `EXPORT_CAP` rows; a capped sheet
says so on its first rows. Written in openpyxl's write-only mode, as the reports' workbooks
(kefu/reports/workbook.py): rows streamed, memory flat.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
from datetime import datetime, tzinfo
from typing import Any

from aiohttp import web
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from cases.domain.enums import Language
from cases.domain.errors import InvalidInput
from cases.queries import case_views as queries
from kefu.console.case_pages import case_filter
from kefu.console.i18n import LABELS, translate
from kefu.console.web import CONSOLE_SETTINGS, render, session_of
from kefu.web.api.access import ACCESS, scope_for
from kefu.web.api.cases import content_disposition
from kefu.web.api.support import CLOCK, DB

log = logging.getLogger(__name__)

# More rows than anyone reads in a sheet, few enough to build in memory in a second or two.
EXPORT_CAP = 10_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The columns: (heading key in TEXT, the list item's field, how the value is shown). The list
# page's columns first (reference, state, severity, subject, customer, received), then the rest.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("reference", "reference", "text"),
    ("state", "state", "state"),
    ("severity", "severity", "severity"),
    ("subject", "subject", "text"),
    ("customer", "customer_name", "text"),
    ("received", "received_at", "time"),
    ("department", "department", "department"),
    ("deadline", "customer_deadline", "time"),
    ("type", "type", "type"),
    ("channel", "channel", "channel"),
    ("part_number", "part_number", "text"),
    ("export_updated", "updated_at", "time"),
)
# Rows before the headings: a summary line, then the cap's warning (or nothing).
HEADING_ROW = 3


async def matching_cases(request: web.Request, f: queries.CaseFilter) -> tuple[list[dict[str, Any]], int]:
    """Every case of the list's filter the person may see, up to EXPORT_CAP, and how many match."""
    scope = scope_for(session_of(request).actor)
    page_filter = dataclasses.replace(f, limit=queries.MAX_LIMIT, offset=0, cursor=None)
    rows: list[dict[str, Any]] = []
    total = 0
    async with request.app[DB].reader() as s:  # one snapshot for every page (PostgreSQL)
        while True:
            page = await queries.list_cases(s, scope, page_filter)
            total = page["total"]
            rows.extend(page["items"])
            if len(rows) >= EXPORT_CAP or not page["next_cursor"]:
                break
            page_filter = dataclasses.replace(page_filter, cursor=page["next_cursor"])
    return rows[:EXPORT_CAP], total


def _cell(
    sheet: WriteOnlyWorksheet, value: Any, kind: str, language: Language, tz: tzinfo, departments: dict[str, str]
) -> Any:
    if value is None or value == "":
        return None
    if kind == "department":  # named as stored: admins add and rename departments
        return departments.get(str(value), str(value))
    if kind == "time":
        # Excel has no time zones: the local time of KEFU_TIMEZONE, as a date Excel sorts
        moment = (
            datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(tz).replace(tzinfo=None, microsecond=0)
        )
        cell = WriteOnlyCell(sheet, value=moment)
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    if kind != "text":
        return LABELS[kind].get(str(value), {}).get(language.value, str(value))
    # A customer's subject such as "=HYPERLINK(...)" stays text: never a formula in our sheet.
    cell = WriteOnlyCell(sheet, value=str(value))
    cell.data_type = "s"
    return cell


def workbook(
    rows: list[dict[str, Any]],
    total: int,
    language: Language,
    tz: tzinfo,
    now: datetime,
    who: str,
    departments: dict[str, str] | None = None,
) -> bytes:
    """`departments`: code -> name in `language` (without it, the codes)."""
    names = departments or {}
    book = Workbook(write_only=True)
    sheet = book.create_sheet(translate("export_sheet", language))
    sheet.append(
        [translate("export_summary", language, n=total, at=now.astimezone(tz).strftime("%Y-%m-%d %H:%M"), who=who)]
    )
    capped = total > len(rows)
    sheet.append([translate("export_capped", language, cap=len(rows), n=total)] if capped else [])
    sheet.append([translate(key, language) for key, _, _ in COLUMNS])
    for row in rows:
        sheet.append([_cell(sheet, row[field], kind, language, tz, names) for _, field, kind in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def export_cases(request: web.Request) -> web.Response:
    session = session_of(request)
    readers = ACCESS["list_cases"]
    if not isinstance(readers, frozenset) or not session.actor.roles & readers:
        raise web.HTTPForbidden(text="no case role")
    tz = request.app[CONSOLE_SETTINGS].tz
    now = request.app[CLOCK]()
    try:
        rows, total = await matching_cases(request, case_filter(request.query, tz, now))
    except InvalidInput as exc:
        message = translate("bad_filter", session.language, message=exc.text(session.language))
        return render(request, "error.html", {"message": message}, status=400)
    log.info("console: %r exported %d of %d cases", session.username, len(rows), total)
    async with request.app[DB].reader() as s:
        name_key = "name_en" if session.language == Language.EN else "name_zh"
        names = {d["code"]: d[name_key] for d in await queries.departments(s)}
    # 10,000 rows take a second or two of CPU: in a thread, not on the event loop
    body = await asyncio.to_thread(workbook, rows, total, session.language, tz, now, session.display_name, names)
    name = f"cases-{now.astimezone(tz).strftime('%Y%m%d-%H%M')}.xlsx"
    return web.Response(
        body=body,
        headers={
            "Content-Type": XLSX,
            "Content-Disposition": content_disposition(name),
            "Content-Security-Policy": "sandbox; default-src 'none'",
        },
    )
