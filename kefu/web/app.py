"""The aiohttp application: the REST API, the staff console (kefu/console/), and their middlewares.

`errors` is the one place where failures become HTTP: a CaseError (the user's mistake) gets
its status and its message; anything else (our fault) is logged and answered with a generic
500. `auth` reads the bearer token and applies the access table before any handler runs.
Both leave paths outside /api/ alone (the staff console has its own sessions and pages: `pages`, kefu/console/web.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy.orm.exc import StaleDataError

from cases.archive.admin import ArchiveService
from cases.domain.clock import Clock
from cases.domain.errors import CaseError, Conflict, Forbidden, IllegalTransition, InvalidInput, NotFound
from cases.field.alerts import EarlyWarning
from cases.services.account_trail import AccountTrail
from cases.services.case_service import CaseService
from cases.services.departments import Departments
from cases.services.entries import EntryService
from cases.services.refusals import Refusals
from cases.services.sessions import ConsoleAuth
from cases.services.users import Users
from cases.settings import Settings
from cases.store.db import Database
from kefu.console.routes import add_console
from kefu.console.web import pages
from kefu.web.api import support as keys
from kefu.web.api.access import ACCESS, Open, describe
from kefu.web.api.routes import add_routes
from kefu.web.api.support import ACTOR, RequestError
from kefu.web.metrics_view import add_metrics_route, timing
from notifications.render import Renderer

if TYPE_CHECKING:
    from bots.links import LinkTokens
    from kefu.bootstrap import Kefu
    from kefu.metrics import Metrics

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
    return web.json_response({"error": {"code": code, "message": sentence(message)}}, status=status, headers=headers)


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
        return error_response(
            409, Conflict.code, "The case was changed by someone else at the same time; reload it and try again"
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_error(request, exc)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(
            500, "internal_error", "Something went wrong on our side; it has been logged. Please try again later"
        )


@web.middleware
async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    match = request.match_info
    if not request.path.startswith(API_ROOT) or match.http_exception is not None:
        return await handler(request)  # not ours, or no such route: the handler raises 404/405
    access = ACCESS.get(match.route.name or "")
    if access is None:  # fail closed: a route nobody gave a rule to is nobody's to call
        raise Forbidden(
            f"{request.method} {request.path} has no access rule", zh=f"{request.method} {request.path} 没有访问规则"
        )
    if access is Open.PUBLIC:
        return await handler(request)
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return error_response(
            401,
            "unauthorized",
            "This needs an API token: send the header 'Authorization: Bearer <token>'",
            {"WWW-Authenticate": 'Bearer realm="kefu"'},
        )
    actor = await request.app[keys.USERS].authenticate_token(token.strip())
    if actor is None:
        return error_response(
            401,
            "invalid_token",
            "The API token is unknown, revoked or its user is disabled",
            {"WWW-Authenticate": 'Bearer realm="kefu", error="invalid_token"'},
        )
    if isinstance(access, frozenset) and not access & actor.roles:
        have = ", ".join(sorted(r.value for r in actor.roles)) or "none"
        raise Forbidden(
            f"{request.method} {request.path} needs the role {describe(access)}; your roles: {have}",
            zh=f"{request.method} {request.path} 需要角色 {describe(access)}；您的角色：{have}",
        )
    request[ACTOR] = actor
    return await handler(request)


@dataclass(frozen=True)
class WebServices:
    """What the web's handlers use, and nothing else of the composition root."""

    settings: Settings
    db: Database
    clock: Clock
    users: Users
    cases: CaseService
    entries: EntryService
    archive: ArchiveService
    rerun_inbound: Callable[[int], Awaitable[Any]]
    refan_event: Callable[[int], Awaitable[Any]]
    rerun_update: Callable[[int], Awaitable[Any]]
    telegram_links: LinkTokens | None
    channel_status: dict[str, Callable[[], dict[str, Any]]]
    metrics: Metrics
    early_warning: EarlyWarning
    console_auth: ConsoleAuth
    departments: Departments
    account_trail: AccountTrail
    renderer: Renderer  # the dispatcher's, for the console's notice previews


def web_services(kefu: Kefu) -> WebServices:
    return WebServices(
        settings=kefu.settings,
        db=kefu.db,
        clock=kefu.clock,
        users=kefu.users,
        cases=kefu.service,
        entries=kefu.entries,
        archive=kefu.archive,
        rerun_inbound=kefu.processor.rerun,
        refan_event=kefu.dispatcher.refan,
        rerun_update=_rerun_update(kefu),
        telegram_links=kefu.telegram_links,
        channel_status=kefu.channel_status,
        metrics=kefu.metrics,
        early_warning=kefu.early_warning,
        console_auth=kefu.console_auth,
        departments=kefu.departments,
        account_trail=kefu.account_trail,
        renderer=kefu.dispatcher.renderer,
    )


def _rerun_update(kefu: Kefu) -> Callable[[int], Awaitable[None]]:
    """A failed Telegram update back to pending (the rows are there even with the bot off)."""
    from bots.updates import UpdateStore

    store = UpdateStore(kefu.db, kefu.clock)

    async def rerun(update_id: int) -> None:
        await store.rerun(update_id)
        if kefu.telegram is not None:
            kefu.telegram.wake()

    return rerun


def create_app(services: WebServices) -> web.Application:
    """The web application of one kefu instance (REST API under /api/v1, the console at /); each service under
    its own key, so that a handler reads only what it uses. Every request is timed by its route
    (the outermost middleware); `GET /metrics` shows it (kefu/web/metrics_view.py)."""
    app = web.Application(middlewares=[timing(services.metrics), errors, auth, pages])
    app[keys.SETTINGS] = services.settings
    app[keys.DB] = services.db
    app[keys.CLOCK] = services.clock
    app[keys.USERS] = services.users
    app[keys.CASES] = services.cases
    app[keys.ENTRIES] = services.entries
    app[keys.ARCHIVE] = services.archive
    app[keys.RERUN_INBOUND] = services.rerun_inbound
    app[keys.REFAN_EVENT] = services.refan_event
    app[keys.RERUN_UPDATE] = services.rerun_update
    app[keys.TELEGRAM_LINKS] = services.telegram_links
    app[keys.CHANNEL_STATUS] = services.channel_status
    app[keys.EARLY_WARNING] = services.early_warning
    add_routes(app)
    add_metrics_route(app, services.metrics)
    add_console(
        app,
        services.console_auth,
        services.settings,
        Refusals(services.db, services.clock),
        departments=services.departments,
        account_trail=services.account_trail,
        renderer=services.renderer,
    )
    return app
