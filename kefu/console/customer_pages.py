"""The customer archive (客户档案): companies, their contacts with identities per channel,
preferred reply channel and language, the service agreement, their cases; merge and undo.

Everything goes through the archive's own service (ArchiveService, cases/archive/admin.py) and
the agreement read (cases/quality/agreements.py), as the REST API does: this module
translates forms and pages, the services decide. Reading is for the roles that see every
customer's cases (`get_customer` in kefu/web/api/access.py); merging and undoing for the sales
desk (`merge`, `unmerge`), as the forms that create and edit (archive_forms.py).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from cases.archive.admin import IDENTITY_KINDS
from cases.domain.enums import Channel, Language
from cases.domain.errors import CaseError, InvalidInput, NotFound
from cases.quality import agreements
from cases.queries import archive_views
from cases.queries import case_views as queries
from kefu.console.case_pages import STATUS
from kefu.console.i18n import translate
from kefu.console.web import render, session_of
from kefu.web.api.access import ALL_CASES, SALES_DESK, scope_for
from kefu.web.api.support import ARCHIVE, CASES, DB

log = logging.getLogger(__name__)

CASES_SHOWN = 50
# ?done=... after a post: the message the page shows (TEXT["archive_" + done])
DONE = ("merged", "undone", "created", "contact_added", "contact_saved", "identity_added", "agreement_saved")


def _may_read(request: web.Request) -> None:
    if not session_of(request).actor.roles & ALL_CASES:
        raise web.HTTPForbidden(text="the archive is for approvers, quality, sales and admins")


def _may_keep(request: web.Request) -> None:
    if not session_of(request).actor.roles & SALES_DESK:
        raise web.HTTPForbidden(text="keeping the archive is for sales")


def _id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 2**63:
        raise web.HTTPNotFound()
    return int(raw)


async def customers_page(request: web.Request) -> web.Response:
    _may_read(request)
    q = request.query.get("q", "").strip()[:100]
    found = await request.app[ARCHIVE].customers(q or None)
    may_keep = bool(session_of(request).actor.roles & SALES_DESK)
    context = {"customers": found, "q": q, "may_keep": may_keep, "form": {}, "error": None}
    return render(request, "customers.html", context)


def customer_id_of(request: web.Request) -> int:
    return _id(request.match_info["customer_id"])


async def customer_page(request: web.Request) -> web.Response:
    _may_read(request)
    return await render_customer(request, customer_id_of(request))


async def render_customer(
    request: web.Request,
    customer_id: int,
    error: str | None = None,
    status: int = 200,
    form: dict[str, Any] | None = None,
    failed: str = "",
) -> web.Response:
    """The customer's page; after a refused form, `failed` names that form and `form` holds
    what was typed, to show it again beside the error."""
    session = session_of(request)
    try:
        customer = await request.app[ARCHIVE].customer(customer_id)
    except NotFound:
        raise web.HTTPNotFound() from None
    contact_ids = [c["id"] for c in customer["contacts"]]
    async with request.app[DB].reader() as s:
        agreement = await agreements.agreement_view(s, customer_id, request.app[CASES].due_steps.defaults)
        cases = await queries.list_cases(
            s, scope_for(session.actor), queries.CaseFilter(customer_id=customer_id, limit=CASES_SHOWN)
        )
        merges = await archive_views.merges_of(s, customer_id, contact_ids)
    done = request.query.get("done", "")
    return render(
        request,
        "customer.html",
        {
            "customer": customer,
            "agreement": agreement,
            "cases": cases,
            "merges": merges,
            "may_keep": bool(session.actor.roles & SALES_DESK),
            "message": translate(f"archive_{done}", session.language) if done in DONE else None,
            "error": error,
            "form": form or {},
            "failed": failed,
            "channels": list(Channel),
            "identity_kinds": IDENTITY_KINDS,
            "languages": list(Language),
            "steps": list(agreements.Step),
            "units": list(agreements.Unit),
        },
        status=status,
    )


def _form_id(form: Any, name: str) -> int:
    raw = form.get(name)
    text = raw.strip() if isinstance(raw, str) else ""
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**63:
        raise InvalidInput(
            f"{name} must be the number of a {form.get('kind', 'record')}, not {text!r}",
            zh=f"{name} 须为{ {'contact': '联系人', 'customer': '客户'}.get(form.get('kind', ''), '记录') }编号，而不是 {text!r}",
        )
    return int(text)


async def _refused(request: web.Request, customer_id: int, exc: CaseError) -> web.Response:
    session = session_of(request)
    status = next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)
    message = translate("refused", session.language, message=exc.text(session.language))
    return await render_customer(request, customer_id, error=message, status=status)


async def merge(request: web.Request) -> web.Response:
    """Merge a contact into another, or this customer into another (ArchiveService.merge)."""
    _may_keep(request)
    customer_id = _id(request.match_info["customer_id"])
    form = await request.post()
    kind = form.get("kind")
    try:
        source, target = _form_id(form, "source"), _form_id(form, "target")
        result = await request.app[ARCHIVE].merge(
            session_of(request).actor, kind if isinstance(kind, str) else "", source, target
        )
    except CaseError as exc:
        return await _refused(request, customer_id, exc)
    log.info("console: merge #%d (%s) by %r", result.id, result.kind, session_of(request).username)
    # a customer merged away is empty now: show the one it went into
    shown = result.target_id if result.kind == "customer" else customer_id
    raise web.HTTPSeeOther(f"/customers/{shown}?done=merged")


async def unmerge(request: web.Request) -> web.Response:
    _may_keep(request)
    customer_id = _id(request.match_info["customer_id"])
    merge_id = _id(request.match_info["merge_id"])
    try:
        await request.app[ARCHIVE].unmerge(session_of(request).actor, merge_id)
    except CaseError as exc:
        return await _refused(request, customer_id, exc)
    log.info("console: merge #%d undone by %r", merge_id, session_of(request).username)
    raise web.HTTPSeeOther(f"/customers/{customer_id}?done=undone")
