"""The admin's pages: staff accounts (add, roles and department, disable / enable, password
reset, the account trail) and API tokens (create, revoke). Admins only: anyone else gets the
403 page and nothing changes.

Every change goes through the same service functions as `kefu user ...` / `kefu token ...`
(cases/services/users.py and sessions.py), so the console and the CLI cannot disagree on
what a disabled account or a revoked token means; the services write each change to the
account trail with the admin's username (`by`). Secrets (a set-up link, a new token) are
shown once, on the answer to the POST that made them, and never again.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from aiohttp import web

from cases.domain.enums import Role
from cases.domain.errors import CaseError, Conflict, Forbidden, NotFound
from cases.queries.case_views import departments
from cases.services.account_trail import TrailEntry
from cases.services.users import PERSON_ROLES, TokenInfo
from kefu.console.i18n import translate
from kefu.console.web import ACCOUNT_TRAIL, AUTH, CONSOLE_SETTINGS, render, session_of
from kefu.web.api.support import DB, USERS

log = logging.getLogger(__name__)

ROLES = sorted(r.value for r in PERSON_ROLES)
REFUSAL_STATUS = {Forbidden: 403, NotFound: 404, Conflict: 409}


def admin_only(request: web.Request) -> None:
    if Role.ADMIN not in session_of(request).actor.roles:
        log.warning(
            "console: %s %s refused to %r (not an admin)", request.method, request.path, session_of(request).username
        )
        raise web.HTTPForbidden(text="for admins")


def refused(request: web.Request, exc: CaseError) -> web.Response:
    """The user's mistake as a page in their language: what was wrong, nothing changed."""
    status = next((code for kind, code in REFUSAL_STATUS.items() if isinstance(exc, kind)), 400)
    language = session_of(request).language
    message = translate("refused", language, message=exc.text(language))
    return render(request, "error.html", {"message": message}, status=status)


def base_url(request: web.Request) -> str:
    return request.app[CONSOLE_SETTINGS].public_url or f"{request.scheme}://{request.host}"


def setup_link(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/setup/{token}"


async def _form(request: web.Request) -> dict[str, Any]:
    form = await request.post()
    return {
        "text": {k: v.strip() for k, v in form.items() if isinstance(v, str)},
        "roles": [r for r in form.getall("roles", []) if isinstance(r, str)],
    }


# -- users ----------------------------------------------------------------------------------------
async def _users(request: web.Request) -> list[dict[str, Any]]:
    return [
        {
            "username": u.username,
            "display_name": u.display_name,
            "email": u.email,
            "roles": sorted(u.role_names),
            "department": u.department.code if u.department else None,
            "active": u.active,
            "has_password": u.password_hash is not None,
        }
        for u in await request.app[USERS].list()
    ]


def trail_row(e: TrailEntry) -> dict[str, Any]:
    return {
        "at": e.at.isoformat(),
        "actor": e.actor,
        "action": e.action.value,
        "username": e.username,
        "detail": e.detail,
    }


async def _users_page(request: web.Request, **shown: Any) -> web.Response:
    async with request.app[DB].reader() as s:
        known = await departments(s, with_active=True)
    trail_of = request.query.get("trail") or None  # one account's trail, or everyone's latest
    trail = await request.app[ACCOUNT_TRAIL].latest(trail_of)
    context = {
        "users": await _users(request),
        "all_roles": ROLES,
        "departments": known,
        "trail": [trail_row(e) for e in trail],
        "trail_of": trail_of,
        "link": None,
        "link_for": None,
        "link_kind": None,
        "done": request.query.get("done"),
        **shown,
    }
    return render(request, "users.html", context)


async def users_page(request: web.Request) -> web.Response:
    admin_only(request)
    return await _users_page(request)


async def add_user(request: web.Request) -> web.Response:
    """A new account without a password: the answer shows a one-time set-up link, as
    `kefu user add` prints it when not at a terminal."""
    admin_only(request)
    form = await _form(request)
    text = form["text"]
    try:
        user = await request.app[USERS].add(
            text.get("username", ""),
            display_name=text.get("display_name", ""),
            email=text.get("email") or None,
            roles=form["roles"],
            department=text.get("department") or None,
            language=text.get("language") or "zh",
            by=session_of(request).username,
        )
    except CaseError as exc:
        return refused(request, exc)
    token = await request.app[AUTH].reset(user.username, by=session_of(request).username)
    log.info("console: user %r added by %r", user.username, session_of(request).username)
    return await _users_page(
        request, link=setup_link(base_url(request), token), link_for=user.username, link_kind="added"
    )


async def reset_password(request: web.Request) -> web.Response:
    admin_only(request)
    username = request.match_info["username"]
    try:
        token = await request.app[AUTH].reset(username, by=session_of(request).username)
    except CaseError as exc:
        return refused(request, exc)
    log.info("console: password of %r reset by %r", username, session_of(request).username)
    return await _users_page(request, link=setup_link(base_url(request), token), link_for=username, link_kind="reset")


async def change_user(request: web.Request) -> web.Response:
    admin_only(request)
    username = request.match_info["username"]
    form = await _form(request)
    try:
        await request.app[USERS].change(
            username,
            roles=form["roles"],
            department=form["text"].get("department") or None,
            by=session_of(request).username,
        )
    except CaseError as exc:
        return refused(request, exc)
    log.info("console: roles of %r changed by %r", username, session_of(request).username)
    raise web.HTTPSeeOther(f"/users?done={quote(username)}")


async def set_active(request: web.Request) -> web.Response:
    """Disable takes effect at the person's next request: their sessions are gone and their
    tokens answer 401 (cases/services/users.py)."""
    admin_only(request)
    username = request.match_info["username"]
    active = request.match_info["what"] == "enable"
    try:
        await request.app[USERS].set_active(username, active, by=session_of(request).username)
    except CaseError as exc:
        return refused(request, exc)
    log.info("console: %r %s by %r", username, "enabled" if active else "disabled", session_of(request).username)
    raise web.HTTPSeeOther(f"/users?done={quote(username)}")


# -- API tokens -----------------------------------------------------------------------------------
def _token_row(t: TokenInfo) -> dict[str, Any]:
    def iso(moment: Any) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "id": t.id,
        "username": t.username,
        "name": t.name,
        "created_at": iso(t.created_at),
        "last_used_at": iso(t.last_used_at),
        "revoked_at": iso(t.revoked_at),
    }


async def _tokens_page(request: web.Request, **shown: Any) -> web.Response:
    tokens = [_token_row(t) for t in await request.app[USERS].tokens()]
    tokens.reverse()  # newest first
    usernames = [u.username for u in await request.app[USERS].list() if u.active]
    context = {"tokens": tokens, "usernames": usernames, "new_token": None, "new_for": None, **shown}
    return render(request, "tokens.html", context)


async def tokens_page(request: web.Request) -> web.Response:
    admin_only(request)
    return await _tokens_page(request)


async def create_token(request: web.Request) -> web.Response:
    admin_only(request)
    text = (await _form(request))["text"]
    username = text.get("username", "")
    try:
        created = await request.app[USERS].create_token(
            username, (text.get("name") or "console")[:80], by=session_of(request).username
        )
    except CaseError as exc:
        return refused(request, exc)
    log.info("console: API token for %r made by %r", username, session_of(request).username)
    return await _tokens_page(request, new_token=created.token, new_for=created.username)


async def revoke_token(request: web.Request) -> web.Response:
    admin_only(request)
    raw_id = request.match_info["token_id"]
    if not raw_id.isdigit() or len(raw_id) > 18:
        raise web.HTTPNotFound()
    try:
        await request.app[USERS].revoke_token(int(raw_id), by=session_of(request).username)
    except CaseError as exc:
        return refused(request, exc)
    log.info("console: API token #%s revoked by %r", raw_id, session_of(request).username)
    raise web.HTTPSeeOther("/tokens")
