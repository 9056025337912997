"""Log an entry: a phone call, letter, visit or survey answer written down by staff becomes a
case, through the same EntryService as `POST /api/v1/entries/{kind}` and `kefu log …`.

The page carries a form token (a fresh one per page): a double submit, or a reload of the
posted form, answers with the case the first submit opened (EntryService keeps the token
unique). A scanned letter can go with it (a file field; the whole form is read by aiohttp,
whose default limit on a request body is 1 MiB: larger scans go by the API or `kefu log letter`).
Caller lookup as one types is `GET /entries/callers?q=…`, a JSON read for the page's
script under the console's session; without JavaScript the service finds the caller by the
number or name typed, or makes a new contact.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from cases.domain.enums import CaseType, Channel, Language
from cases.domain.errors import CaseError, InvalidInput
from cases.domain.intake_message import Attachment
from cases.domain.uploads import safe_filename
from cases.queries.callers import find_callers
from cases.services.entries import ENTRY_KINDS, EntryInput
from kefu.console.case_pages import STATUS
from kefu.console.i18n import translate
from kefu.console.web import CONSOLE_SETTINGS, render, session_of
from kefu.web.api.access import SALES_DESK
from kefu.web.api.entries import parse_at
from kefu.web.api.support import CLOCK, DB, ENTRIES, MAX_QUANTITY

log = logging.getLogger(__name__)


def _may_log(request: web.Request) -> None:
    if not session_of(request).actor.roles & SALES_DESK:
        raise web.HTTPForbidden(text="logging entries is for sales")


def _form_page(request: web.Request, form: dict[str, str], error: str | None = None, status: int = 200) -> web.Response:
    return render(
        request,
        "entry.html",
        {
            "form": form,
            "error": error,
            "kinds": [k.value for k in ENTRY_KINDS],
            "types": list(CaseType),
            "reply_channels": list(Channel),
            "languages": list(Language),
        },
        status=status,
    )


async def entry_page(request: web.Request) -> web.Response:
    _may_log(request)
    tz = request.app[CONSOLE_SETTINGS].tz
    kind = request.query.get("kind", Channel.PHONE.value)
    form = {
        "kind": kind if kind in {k.value for k in ENTRY_KINDS} else Channel.PHONE.value,
        "at": request.app[CLOCK]().astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
        "form_token": uuid.uuid4().hex,
    }
    return _form_page(request, form)


def _number(raw: str, what: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_QUANTITY:
        raise InvalidInput(
            f"{what} must be a whole number from 0 to {MAX_QUANTITY}, not {raw!r}",
            zh=f"{what} 须为 0 至 {MAX_QUANTITY} 之间的整数，而不是 {raw!r}",
        )
    return int(text)


def _optional(form: dict[str, str], name: str) -> str | None:
    return form.get(name, "").strip() or None


def _attachment(posted: MultiDictProxy[Any]) -> tuple[Attachment, ...]:
    """A scanned letter from the form's file field (the service checks its size)."""
    field = posted.get("attachment")
    if not isinstance(field, web.FileField):
        return ()
    data = field.file.read()
    if not data:
        return ()  # the field left empty: browsers send an empty part
    content_type = (field.content_type or "application/octet-stream")[:120]
    return (Attachment(safe_filename(field.filename or "letter.pdf"), content_type, data),)


def entry_input(form: dict[str, str], tz: Any, now: Any, attachments: tuple[Attachment, ...] = ()) -> EntryInput:
    """The posted form as the service's input: text as typed; the service checks the rest."""
    kind = form.get("kind", "")
    if kind not in {k.value for k in ENTRY_KINDS}:
        raise InvalidInput(f"unknown entry kind {kind!r}", zh=f"未知的登记类型 {kind!r}")
    contact = form.get("contact", "").strip()
    return EntryInput(
        kind=Channel(kind),
        at=parse_at(form.get("at", "").replace("T", " "), tz) or now,
        subject=form.get("subject", ""),
        description=form.get("description", ""),
        customer=form.get("customer", "").strip() or None,
        contact_id=_number(contact, "the contact") if contact else None,
        caller_number=form.get("caller_number", "").strip() or None,
        caller_name=form.get("caller_name", ""),
        caller_email=form.get("caller_email", "").strip() or None,
        quantity=_number(form.get("quantity", ""), "the quantity"),
        form_token=form.get("form_token", "").strip() or None,
        type=_optional(form, "type"),
        part_number=_optional(form, "part_number"),
        batch=_optional(form, "batch"),
        reply_channel=_optional(form, "reply_channel"),
        language=_optional(form, "language"),
        attachments=attachments,
    )


async def log_entry(request: web.Request) -> web.Response:
    _may_log(request)
    session = session_of(request)
    posted = await request.post()
    form = {k: v for k, v in posted.items() if isinstance(v, str) and k != "csrf_token"}
    try:
        entry = entry_input(form, request.app[CONSOLE_SETTINGS].tz, request.app[CLOCK](), _attachment(posted))
        result = await request.app[ENTRIES].log_entry(session.actor, entry)
    except CaseError as exc:
        status = next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)
        message = translate("refused", session.language, message=exc.text(session.language))
        return _form_page(request, form, error=message, status=status)
    log.info("console: %s %s by %r (%s)", entry.kind, result.reference, session.username, result.created)
    done = "logged" if result.created else "logged_before"
    raise web.HTTPSeeOther(f"/cases/{result.reference}?done={done}")


async def callers(request: web.Request) -> web.Response:
    """The callers matching `q` (a name, or some digits of a number), as JSON for the script."""
    _may_log(request)
    q = request.query.get("q", "")[:100]
    async with request.app[DB].reader() as s:
        found = await find_callers(s, q)
    return web.json_response({"items": found})
