"""The console's plumbing: its services, the signed-in person, CSRF, headers, rendering.

Every console route is named `console.*`; the `pages` middleware applies to those only (the
REST API under /api/ keeps its tokens). It reads the session cookie, sends a person who is
not signed in to the sign-in page (with the page they wanted as `next`), refuses a POST whose
form lacks the session's CSRF token, and sets the security headers on every answer.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

from cases.domain.enums import Language
from cases.services.account_trail import AccountTrail
from cases.services.departments import Departments
from cases.services.refusals import Refusals
from cases.services.sessions import ConsoleAuth, Session
from cases.settings import Settings
from kefu.console.i18n import LABELS, translate
from notifications.render import Renderer

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

AUTH = web.AppKey("console_auth", ConsoleAuth)
TEMPLATES = web.AppKey("console_templates", jinja2.Environment)
CONSOLE_SETTINGS = web.AppKey("console_settings", Settings)
REFUSALS = web.AppKey("console_refusals", Refusals)
DEPARTMENTS = web.AppKey("console_departments", Departments)
ACCOUNT_TRAIL = web.AppKey("console_account_trail", AccountTrail)
RENDERER = web.AppKey("console_renderer", Renderer)  # the dispatcher's own, for the notice previews
SESSION: web.RequestKey[Session] = web.RequestKey("console_session", Session)

COOKIE = "kefu_session"
# Pages anyone may see: the sign-in form, set-up links, the style sheet and script.
PUBLIC = frozenset({"console.signin", "console.signin_post", "console.setup", "console.setup_post", "console.static"})

# No inline script or style anywhere, no framing, forms post only to us (OWASP CSP cheat sheet).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def session_of(request: web.Request) -> Session:
    return request[SESSION]


def client_address(request: web.Request, trusted: tuple[str, ...]) -> str:
    """The client's address: the socket's peer, unless that peer is a trusted proxy; then the
    right-most address of X-Forwarded-For that is not itself a trusted proxy (the left part of
    the header is whatever the client wrote)."""
    peer = request.remote or "unknown"
    networks = [ipaddress.ip_network(n) for n in trusted]

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in n for n in networks)

    if not networks or not is_trusted(peer):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a garbled header: count the proxy, not a name the client chose
    return peer


def safe_next(target: str | None) -> str:
    """Only a path on this site: `/cases/FB-…`, never `//evil.example` or `https://…`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def set_session_cookie(response: web.StreamResponse, token: str, secure: bool, hours: float) -> None:
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="Lax", secure=secure, path="/", max_age=int(hours * 3600)
    )


@web.middleware
async def pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    match = request.match_info
    name = match.route.name or "" if match.http_exception is None else ""
    if not name.startswith("console."):
        return await handler(request)
    try:
        response = await _page(request, handler, name)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # a redirect
        # 403, 404, 405 from a handler: a page in the person's language, with the headers below
        key = {403: "forbidden", 404: "not_found"}.get(exc.status, "error_title")
        response = render(request, "error.html", {"message": translate(key, language_of(request))}, exc.status)
    except Exception:  # our fault: logged, and a page that says so (never a traceback)
        log.exception("console: %s %s failed", request.method, request.path)
        response = render(request, "error.html", {"message": translate("our_fault", language_of(request))}, 500)
    for header, value in HEADERS.items():
        response.headers.setdefault(header, value)  # a download keeps its own, stricter CSP
    return response


async def _page(request: web.Request, handler: Handler, name: str) -> web.StreamResponse:
    if name in PUBLIC:
        return await handler(request)
    session = await request.app[AUTH].session(request.cookies.get(COOKIE, ""))
    if session is None:
        if request.method == "GET":
            raise web.HTTPSeeOther(f"/signin?next={quote(request.path_qs, safe='/')}")
        raise web.HTTPSeeOther("/signin")
    request[SESSION] = session
    if request.method == "POST":
        form = await request.post()
        sent = form.get("csrf_token")
        if not isinstance(sent, str) or not hmac.compare_digest(sent, session.csrf_token):
            log.warning(
                "console: %s %s by %r without a valid CSRF token: refused",
                request.method,
                request.path,
                session.username,
            )
            return render(request, "error.html", {"message": translate("csrf_refused", session.language)}, status=403)
    return await handler(request)


def render(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    """`context["departments"]`, when a page has it (rows of cases.queries.departments), names
    the departments for `label("department", code)`: they live in the database, where an admin
    adds and renames them (department_pages.py); a page without it shows the code."""
    session = request.get(SESSION)
    language = language_of(request)
    tz = request.app[CONSOLE_SETTINGS].tz
    env = request.app[TEMPLATES]
    department_names = {
        d["code"]: d["name_en" if language == Language.EN else "name_zh"]
        for d in context.get("departments", ())
        if isinstance(d, dict)
    }

    def t(key: str, **values: Any) -> str:
        return translate(key, language, **values)

    def label(kind: str, value: Any) -> str:
        if value is None or value == "":
            return "—"
        if kind == "department":
            return str(department_names.get(str(value), value))
        return LABELS.get(kind, {}).get(str(value), {}).get(language, str(value))

    def local(value: str | None, with_time: bool = True) -> str:
        if not value:
            return "—"
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(tz)
        return moment.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")

    html = env.get_template(template).render(
        t=t,
        label=label,
        local=local,
        lang=language.value,
        me=session,
        roles={r.value for r in session.actor.roles} if session else set(),
        path=request.path,
        **{"csrf": session.csrf_token if session else request.get(PRE_TOKEN, ""), **context},
    )
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    if session is None and request.get(PRE_TOKEN):
        response.set_cookie(PRE_COOKIE, request[PRE_TOKEN], httponly=True, samesite="Strict", path="/")
    return response


# -- before sign-in: the forms of /signin and /setup carry a token too ---------------------------
# There is no session yet, so the token is also set as a cookie and the two must match (a
# double-submit token, OWASP): another site can neither read the cookie nor set it, so it cannot
# post our sign-in form (signing a victim in to the attacker's account, "login CSRF").
PRE_COOKIE = "kefu_form"
PRE_TOKEN: web.RequestKey[str] = web.RequestKey("console_pre_token", str)


def give_form_token(request: web.Request) -> None:
    """Before a public form is rendered: the browser's token, or a new one."""
    have = request.cookies.get(PRE_COOKIE, "")
    request[PRE_TOKEN] = have if 30 <= len(have) <= 100 and have.isascii() else secrets.token_urlsafe(32)


def form_token_ok(request: web.Request, sent: object) -> bool:
    have = request.cookies.get(PRE_COOKIE, "")
    return bool(have) and isinstance(sent, str) and hmac.compare_digest(sent.encode(), have.encode())


def language_of(request: web.Request) -> Language:
    session = request.get(SESSION)
    return session.language if session else _browser_language(request)


def _browser_language(request: web.Request) -> Language:
    """Before sign-in: Chinese, unless the browser asks for English first."""
    wanted = request.headers.get("Accept-Language", "").lower()
    return Language.EN if wanted.startswith("en") else Language.ZH


def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,  # every value is escaped: a mail's <script> is text
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
