"""The rule tables a person may keep from the console: every table of cases/rules/tables.py
(severity, routing, intake holds) on one page template and one handler pair, /rules/{table},
and the failure-mode list on its own page. Read by every case reader; changed through the same
service calls as the API's PUTs (RuleService.change, CaseService.put_failure_mode), which decide
who may: each table's keepers, admin or quality for failure modes (failure_modes.py KEEPERS).
The forms are shown only to them; a forged post from anyone else is refused by the service and
written to the table's history.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from aiohttp import web

from cases.domain.errors import CaseError
from cases.quality import failure_modes
from cases.rules.service import table_named
from cases.rules.tables import TABLES
from kefu.console.admin_pages import refused
from kefu.console.i18n import translate
from kefu.console.web import language_of, render, session_of
from kefu.web.api.access import CASE_READERS
from kefu.web.api.support import CASES, DB, SETTINGS

log = logging.getLogger(__name__)

TABLE_PATTERN = "|".join(TABLES)  # the {table} of /rules/{table}: /rules/failure-modes is its own page
# The admin navigation's links (templates/_admin_nav.html): path and title by language.
NAV = [{"path": f"/rules/{t.name}", "zh": t.title[0], "en": t.title[1]} for t in TABLES.values()]


def _reader(request: web.Request) -> None:
    if not session_of(request).actor.roles & CASE_READERS:
        raise web.HTTPForbidden(text="for staff who read cases")


async def rules_page(request: web.Request) -> web.Response:
    _reader(request)
    table = table_named(request.match_info["table"])
    shown = await request.app[CASES].rules.table(table.name)
    language = language_of(request).value
    pick = 0 if language == "zh" else 1
    labels = {k.name: k.label[pick] for k in table.keys}
    choices = {c["value"]: c[language] for c in shown["choices"]}
    help_text = table.help[pick]
    if table.name == "severity":  # the raisers' threshold is a setting: said where the table is
        help_text = translate(
            "severity_rules_help", language, threshold=request.app[SETTINGS].severity_quantity_threshold
        )
    context = {
        "table": table.name,
        "title": table.title[pick],
        "help": help_text,
        "key_title": table.key_title[pick],
        "value_title": table.value_title[pick],
        "rows": shown["rules"],
        "history": shown["history"],
        "labels": labels,
        "choices": choices,
        "may_edit": bool(session_of(request).actor.roles & table.keepers),
        "done": labels.get(request.query.get("done", "")),
    }
    return render(request, "rules.html", context)


async def set_rule(request: web.Request) -> web.Response:
    table = request.match_info["table"]
    form = await request.post()

    def sent(*names: str) -> str:  # the severity page's form of before said category and grade
        return next((v for n in names if isinstance(v := form.get(n), str)), "")

    key, value = sent("key", "category"), sent("value", "grade")
    try:
        await request.app[CASES].rules.change(session_of(request).actor, table, key, value)
    except CaseError as exc:
        return refused(request, exc)
    log.info("console: rule %s.%s set to %r by %r", table, key, value, session_of(request).username)
    raise web.HTTPSeeOther(f"/rules/{table}?done={quote(key)}")


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
