"""The aiohttp application: routes, and the two middlewares every /api/ request passes.

`errors` is the one place where failures become HTTP: a CaseError (the user's mistake) gets
its status and its message; anything else (our fault) is logged and answered with a generic
500. `auth` reads the bearer token and applies the access table before any handler runs.
Both leave paths outside /api/ alone (the staff console has its own sessions and pages).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Awaitable, Callable

from aiohttp import web
from sqlalchemy.orm.exc import StaleDataError

from cases.errors import CaseError, Conflict, Forbidden, IllegalTransition, InvalidInput, NotFound
from cases.web.api import add_routes
from cases.web.api_access import ACCESS, Open, describe
from cases.web.api_support import ACTOR, KEFU, RequestError

if TYPE_CHECKING:
    from cases.main import Kefu

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API_ROOT = "/api/"

# Most specific first: the status of an error is that of the first of its classes listed here.
STATUS: dict[type[CaseError], int] = {
    RequestError: 400,  # malformed request: not JSON, a missing field, a wrong type
    InvalidInput: 422,  # well-formed, but the service refuses the value
    NotFound: 404,
    Forbidden: 403,
    IllegalTransition: 409,
    Conflict: 409,
    CaseError: 400,
}


def sentence(message: str) -> str:
    """Error messages start with a capital letter and end with a full stop."""
    message = message.strip() or "Something went wrong"
    message = message[0].upper() + message[1:]
    return message if message[-1] in ".!?。" else message + "."


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": sentence(message)}}, status=status,
                             headers=headers)


def _status_of(exc: CaseError) -> int:
    return next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)


def _http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    """aiohttp's own errors (no such route, wrong method, body too large) as JSON too."""
    messages = {
        404: f"There is no endpoint {request.path}; see /api/v1/openapi.json",
        405: f"{request.method} is not allowed on {request.path}",
        413: "The request body is too large",
    }
    code = exc.reason.lower().replace(" ", "_") if exc.reason else "http_error"
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    return error_response(exc.status, code, messages.get(exc.status, exc.reason or "HTTP error"), headers)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(API_ROOT):
        return await handler(request)
    try:
        return await handler(request)
    except CaseError as exc:
        status = _status_of(exc)
        log.info("%s %s -> %d %s: %s", request.method, request.path, status, exc.code, exc)
        return error_response(status, exc.code, str(exc))
    except StaleDataError:
        # The case's version column: someone changed it between our read and our write.
        log.info("%s %s -> 409: concurrent change", request.method, request.path)
        return error_response(409, Conflict.code, "The case was changed by someone else at the same time; "
                                                  "reload it and try again")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_error(request, exc)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal_error", "Something went wrong on our side; it has been logged. "
                                                     "Please try again later")


@web.middleware
async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    match = request.match_info
    if not request.path.startswith(API_ROOT) or match.http_exception is not None:
        return await handler(request)  # not ours, or no such route: the handler raises 404/405
    access = ACCESS.get(match.route.name or "")
    if access is None:  # fail closed: a route nobody gave a rule to is nobody's to call
        raise Forbidden(f"{request.method} {request.path} has no access rule")
    if access is Open.PUBLIC:
        return await handler(request)
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return error_response(401, "unauthorized", "This needs an API token: send the header "
                              "'Authorization: Bearer <token>'", {"WWW-Authenticate": 'Bearer realm="kefu"'})
    actor = await request.app[KEFU].users.authenticate_token(token.strip())
    if actor is None:
        return error_response(401, "invalid_token", "The API token is unknown, revoked or its user is disabled",
                              {"WWW-Authenticate": 'Bearer realm="kefu", error="invalid_token"'})
    if isinstance(access, frozenset) and not access & actor.roles:
        have = ", ".join(sorted(r.value for r in actor.roles)) or "none"
        raise Forbidden(f"{request.method} {request.path} needs the role {describe(access)}; your roles: {have}")
    request[ACTOR] = actor
    return await handler(request)


def create_app(kefu: Kefu) -> web.Application:
    """The web application of one kefu instance (REST API under /api/v1)."""
    app = web.Application(middlewares=[errors, auth])
    app[KEFU] = kefu
    add_routes(app)
    return app
