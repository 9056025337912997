"""My work (the first page) and the quarantine with its re-run. The admin's pages: admin_pages.py."""

from __future__ import annotations

import email
import email.policy
import logging
from email.message import EmailMessage

from aiohttp import web
from sqlalchemy import select

from cases.domain.errors import CaseError
from cases.queries import operations
from cases.queries.case_views import departments as departments_of
from cases.queries.my_work import my_work
from cases.store.models import InboundRaw
from intake.htmltext import html_to_text
from kefu.console.i18n import translate
from kefu.console.web import CONSOLE_SETTINGS, render, session_of
from kefu.web.api.access import INBOUND_KEEPERS, scope_for
from kefu.web.api.support import CLOCK, DB, REFAN_EVENT, RERUN_INBOUND

log = logging.getLogger(__name__)

PREVIEW_CHARS = 3000


async def work_page(request: web.Request) -> web.Response:
    session = session_of(request)
    settings = request.app[CONSOLE_SETTINGS]
    async with request.app[DB].reader() as s:
        work = await my_work(
            s, session.actor, scope_for(session.actor), request.app[CLOCK](), settings.step_warning_hours
        )
        departments = await departments_of(s)
    return render(request, "mywork.html", {"work": work, "departments": departments})


# -- quarantine -----------------------------------------------------------------------------
def _keeper(request: web.Request) -> None:
    if not session_of(request).actor.roles & INBOUND_KEEPERS:
        raise web.HTTPForbidden(text="the quarantine is for admin, sales and quality")


def preview(raw: bytes) -> str:
    """The mail as plain text for a person to judge: the text part, or the HTML part turned
    into text; never the HTML itself. The template escapes it again on the page."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        part = msg.get_body(preferencelist=("plain", "html"))
        if part is None:
            text = raw.decode("utf-8", "replace")
        else:
            content = part.get_content()
            text = content if isinstance(content, str) else content.decode("utf-8", "replace")
            if part.get_content_type() == "text/html":
                text = html_to_text(text)
        headers = "\n".join(f"{name}: {msg.get(name, '')}" for name in ("From", "To", "Subject", "Date"))
        text = headers + "\n\n" + text
    except Exception:  # a mail too broken to parse is still shown, as bytes decoded
        text = raw.decode("utf-8", "replace")
    return text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else "")


async def quarantine_page(request: web.Request) -> web.Response:
    _keeper(request)
    async with request.app[DB].reader() as s:
        held = await operations.held_inbound(s, limit=50)
        ids = [item["id"] for item in held["items"]]
        rows = await s.execute(select(InboundRaw.inbound_id, InboundRaw.raw).where(InboundRaw.inbound_id.in_(ids)))
        raws: dict[int, bytes] = {row[0]: row[1] for row in rows}
        set_aside = await operations.set_aside_events(s, limit=50)
    for item in held["items"]:
        item["preview"] = preview(raws.get(item["id"], b""))
    done = request.query.get("done")
    return render(request, "quarantine.html", {"held": held, "set_aside": set_aside, "done": done})


async def rerun(request: web.Request) -> web.Response:
    _keeper(request)
    raw_id = request.match_info["inbound_id"]
    if not raw_id.isdigit() or len(raw_id) > 18:
        raise web.HTTPNotFound()
    try:
        await request.app[RERUN_INBOUND](int(raw_id))
    except CaseError as exc:
        session = session_of(request)
        return render(
            request,
            "error.html",
            {"message": translate("refused", session.language, message=exc.text(session.language))},
            status=409,
        )
    log.info("console: inbound #%s re-run by %r", raw_id, session_of(request).username)
    raise web.HTTPSeeOther(f"/quarantine?done={raw_id}")


async def refan(request: web.Request) -> web.Response:
    """A notice event set aside by the fan-out, put back after a fix."""
    _keeper(request)
    raw_id = request.match_info["event_id"]
    if not raw_id.isdigit() or len(raw_id) > 18:
        raise web.HTTPNotFound()
    try:
        await request.app[REFAN_EVENT](int(raw_id))
    except CaseError as exc:
        session = session_of(request)
        return render(
            request,
            "error.html",
            {"message": translate("refused", session.language, message=exc.text(session.language))},
            status=409,
        )
    log.info("console: notice event #%s put back by %r", raw_id, session_of(request).username)
    raise web.HTTPSeeOther(f"/quarantine?done=e{raw_id}")
