"""Sign-in, sign-out, set-up links, and the person's own account (password, language)."""

from __future__ import annotations

from aiohttp import web

from cases.domain.errors import CaseError
from cases.services.sessions import Outcome
from kefu.console.i18n import translate
from kefu.console.web import (
    AUTH,
    CONSOLE_SETTINGS,
    COOKIE,
    client_address,
    form_token_ok,
    give_form_token,
    language_of,
    render,
    safe_next,
    session_of,
    set_session_cookie,
)


def _field(form: object, name: str) -> str:
    value = form.get(name) if hasattr(form, "get") else None  # a MultiDictProxy
    return value if isinstance(value, str) else ""


def _signed_in_redirect(request: web.Request, token: str, target: str) -> web.Response:
    settings = request.app[CONSOLE_SETTINGS]
    response = web.Response(status=303, headers={"Location": safe_next(target)})
    # Behind a proxy that ends TLS the request itself is plain HTTP; the public URL says HTTPS.
    secure = request.secure or settings.public_url.startswith("https://")
    set_session_cookie(response, token, secure=secure, hours=settings.console_session_hours)
    return response


async def signin_page(request: web.Request) -> web.Response:
    give_form_token(request)
    return render(request, "signin.html", {"next": safe_next(request.query.get("next")), "error": None})


async def signin(request: web.Request) -> web.Response:
    form = await request.post()
    target = safe_next(_field(form, "next"))
    give_form_token(request)  # for the form shown again
    if not form_token_ok(request, form.get("csrf_token")):
        return render(request, "error.html", {"message": translate("csrf_refused", language_of(request))}, 403)
    address = client_address(request, request.app[CONSOLE_SETTINGS].trusted_proxies)
    result = await request.app[AUTH].sign_in(_field(form, "username"), _field(form, "password"), address)
    if result.outcome is Outcome.SIGNED_IN and result.token:
        # A new session id on every sign-in; the old cookie (if any) is simply replaced.
        return _signed_in_redirect(request, result.token, target)
    if result.outcome is Outcome.THROTTLED:
        error, status = ("signin_throttled", {"minutes": result.retry_minutes}), 429
    else:
        error, status = ("signin_wrong", {}), 401
    return render(
        request,
        "signin.html",
        {"next": target, "error": error, "username": _field(form, "username")},
        status=status,
    )


async def signout(request: web.Request) -> web.Response:
    await request.app[AUTH].sign_out(session_of(request))
    response = web.Response(status=303, headers={"Location": "/signin"})
    response.del_cookie(COOKIE, path="/")
    return response


async def setup_page(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    username = await request.app[AUTH].setup_user(token)
    give_form_token(request)
    return render(request, "setup.html", {"username": username, "token": token, "error": None})


async def setup(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    form = await request.post()
    give_form_token(request)
    if not form_token_ok(request, form.get("csrf_token")):
        return render(request, "error.html", {"message": translate("csrf_refused", language_of(request))}, 403)
    auth = request.app[AUTH]
    username = await auth.setup_user(token)
    new, again = _field(form, "new_password"), _field(form, "new_password_again")
    error: str | None = None
    if username is None:
        error = translate("setup_gone", language_of(request))
    elif new != again:
        error = translate("passwords_differ", language_of(request))
    else:
        try:
            session_token = await auth.use_setup(token, new)
        except CaseError as exc:
            error = exc.text(language_of(request))
        else:
            return _signed_in_redirect(request, session_token, "/")
    return render(request, "setup.html", {"username": username, "token": token, "error": error}, status=400)


async def account_page(request: web.Request) -> web.Response:
    return render(request, "account.html", {"message": request.query.get("done"), "error": None})


async def change_password(request: web.Request) -> web.Response:
    form = await request.post()
    session = session_of(request)
    new, again = _field(form, "new_password"), _field(form, "new_password_again")
    if new != again:
        error = translate("passwords_differ", session.language)
    else:
        try:
            token = await request.app[AUTH].change_password(session, _field(form, "current_password"), new)
        except CaseError as exc:
            error = exc.text(session.language)
        else:
            return _signed_in_redirect(request, token, "/account?done=password_changed")
    return render(request, "account.html", {"message": None, "error": error}, status=400)


async def set_language(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        await request.app[AUTH].set_language(session_of(request), _field(form, "language"))
    except CaseError as exc:
        return render(
            request, "account.html", {"message": None, "error": exc.text(session_of(request).language)}, status=400
        )
    raise web.HTTPSeeOther("/account?done=language_saved")
