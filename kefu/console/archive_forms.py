"""The sales desk's forms on the archive pages: a new customer, a new contact, a contact's
name, reply channel and language, an identity added to a contact, the service agreement.

As the merge beside them (customer_pages.py): only the sales desk (`SALES_DESK`, the roles the
REST API gives these calls) may post them, anyone else is refused 403 before anything is read
or written; the archive's own service decides (ArchiveService, cases/archive/admin.py;
agreements.replace_terms, which checks its keepers again). The CSRF token is checked for every
post by the console's middleware (kefu/console/web.py). An identity the service refuses is
told in the reader's language, from the kind of error (`IDENTITY_ERRORS`), not its English text.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from cases.archive.admin import IdentityTaken
from cases.archive.phones import IDENTITY_LENGTH, BadAddress, BadNumber, EmptyIdentity, IdentityTooLong
from cases.domain.errors import CaseError, InvalidInput, NotFound
from cases.quality import agreements
from kefu.console.case_pages import STATUS
from kefu.console.customer_pages import customer_id_of, render_customer
from kefu.console.i18n import LABELS, translate
from kefu.console.web import render, session_of
from kefu.web.api.access import SALES_DESK
from kefu.web.api.support import ARCHIVE, CLOCK, DB

log = logging.getLogger(__name__)

# The kind of a refused identity -> the text that says so (kefu/console/i18n.py).
IDENTITY_ERRORS: dict[type[CaseError], str] = {
    EmptyIdentity: "identity_empty",
    BadNumber: "identity_bad_number",
    BadAddress: "identity_bad_email",
    IdentityTooLong: "identity_too_long",
    IdentityTaken: "identity_taken",
}


def _may_keep(request: web.Request, what: str) -> None:
    session = session_of(request)
    if not session.actor.roles & SALES_DESK:
        log.warning("console: %r may not %s (not the sales desk): refused", session.username, what)
        raise web.HTTPForbidden(text="keeping the archive is for sales")


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _done(customer_id: int, what: str, anchor: str = "") -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/customers/{customer_id}?done={what}{anchor}")


async def _refused(
    request: web.Request, customer_id: int, exc: CaseError, message: str | None = None, **kept: Any
) -> web.Response:
    session = session_of(request)
    if isinstance(exc, NotFound):
        raise web.HTTPNotFound() from None
    status = next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)
    text = message or translate("refused", session.language, message=exc.text(session.language))
    return await render_customer(request, customer_id, error=text, status=status, **kept)


async def _contact_of(request: web.Request, customer_id: int) -> int:
    """The contact in the path, one of this customer's (404 otherwise: the page it came from)."""
    raw = request.match_info["contact_id"]
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 2**63:
        raise web.HTTPNotFound()
    try:
        customer = await request.app[ARCHIVE].customer(customer_id)
    except NotFound:
        raise web.HTTPNotFound() from None
    if int(raw) not in {c["id"] for c in customer["contacts"]}:
        raise web.HTTPNotFound()
    return int(raw)


async def create_customer(request: web.Request) -> web.Response:
    _may_keep(request, "create a customer")
    session = session_of(request)
    form = await request.post()
    try:
        customer_id = await request.app[ARCHIVE].create_customer(
            _text(form, "name"), _text(form, "code") or None, _text(form, "language") or None
        )
    except CaseError as exc:
        status = next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)
        message = translate("refused", session.language, message=exc.text(session.language))
        context = {"customers": [], "q": "", "error": message, "form": dict(form), "may_keep": True}
        return render(request, "customers.html", context, status=status)
    log.info("console: customer #%d created by %r", customer_id, session.username)
    raise _done(customer_id, "created")


async def add_contact(request: web.Request) -> web.Response:
    _may_keep(request, "add a contact")
    customer_id = customer_id_of(request)
    form = await request.post()
    try:
        contact_id = await request.app[ARCHIVE].create_contact(
            customer_id,
            _text(form, "name"),
            _text(form, "language") or None,
            _text(form, "preferred_channel") or None,
        )
    except CaseError as exc:
        return await _refused(request, customer_id, exc, form=dict(form), failed="new-contact")
    log.info("console: contact #%d added to customer #%d by %r", contact_id, customer_id, session_of(request).username)
    raise _done(customer_id, "contact_added", f"#contact-{contact_id}")


async def edit_contact(request: web.Request) -> web.Response:
    _may_keep(request, "edit a contact")
    customer_id = customer_id_of(request)
    contact_id = await _contact_of(request, customer_id)
    form = await request.post()
    try:
        await request.app[ARCHIVE].update_contact(
            session_of(request).actor,
            contact_id,
            name=_text(form, "name"),
            language=_text(form, "language"),
            preferred_channel=_text(form, "preferred_channel"),
        )
    except CaseError as exc:
        return await _refused(request, customer_id, exc, form=dict(form), failed=f"contact-{contact_id}")
    log.info("console: contact #%d edited by %r", contact_id, session_of(request).username)
    raise _done(customer_id, "contact_saved", f"#contact-{contact_id}")


async def add_identity(request: web.Request) -> web.Response:
    _may_keep(request, "add an identity")
    session = session_of(request)
    customer_id = customer_id_of(request)
    contact_id = await _contact_of(request, customer_id)
    form = await request.post()
    kind, value = _text(form, "kind"), _text(form, "value")
    try:
        await request.app[ARCHIVE].add_identity(contact_id, kind, value)
    except CaseError as exc:
        key = next((IDENTITY_ERRORS[cls] for cls in type(exc).__mro__ if cls in IDENTITY_ERRORS), None)
        message = None
        if key is not None:
            name = LABELS["channel"].get(kind, {}).get(session.language.value, kind)
            taken = exc.contact_id if isinstance(exc, IdentityTaken) else 0
            message = translate(key, session.language, kind=name, value=value, n=IDENTITY_LENGTH, contact=taken)
        return await _refused(request, customer_id, exc, message, form=dict(form), failed=f"identity-{contact_id}")
    log.info("console: a %s identity added to contact #%d by %r", kind, contact_id, session.username)
    raise _done(customer_id, "identity_added", f"#contact-{contact_id}")


def agreement_terms(form: Any) -> list[agreements.Term]:
    """The terms of the agreement form: a step with an amount is agreed, an empty one keeps
    the default."""
    terms = []
    for step in agreements.Step:
        amount = _text(form, f"amount_{step.value}")
        if not amount:
            continue
        if not (amount.isascii() and amount.isdigit()) or len(amount) > 6:
            raise InvalidInput(
                f"{step.value}: the amount must be a whole number, not {amount!r}",
                zh=f"{step.value}：数量须为整数，而不是 {amount!r}",
            )
        terms.append(agreements.term(step.value, int(amount), _text(form, f"unit_{step.value}")))
    return terms


async def save_agreement(request: web.Request) -> web.Response:
    _may_keep(request, "change a service agreement")
    session = session_of(request)
    customer_id = customer_id_of(request)
    form = await request.post()
    try:
        terms = agreement_terms(form)
        async with request.app[DB].unit_of_work() as s:
            await agreements.replace_terms(s, session.actor, customer_id, terms, request.app[CLOCK]())
    except CaseError as exc:
        return await _refused(request, customer_id, exc, form=dict(form), failed="agreement")
    log.info("console: the agreement of customer #%d set by %r: %s", customer_id, session.username, terms)
    raise _done(customer_id, "agreement_saved", "#agreement")
