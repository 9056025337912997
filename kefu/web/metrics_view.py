"""`GET /metrics` for Prometheus, and the middleware that times every request by its route.

Who may read it: a peer in KEFU_METRICS_ALLOW (loopback by default) without a token, anyone
else with an admin's API token. The peer is the socket's (aiohttp's `request.remote`, which no
header changes): an `X-Forwarded-For: 127.0.0.1` from elsewhere grants nothing. kefu trusts no
proxy header; a reverse proxy in front of kefu should itself send the token, or the proxy's
address be listed.

The latency histogram is labelled by the route's path template (`/api/v1/cases/{reference}`),
never by the path a client sent: one series per route, whatever the clients ask for.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from cases.domain.enums import Role
from cases.queries import operations
from kefu.metrics import CONTENT_TYPE, Metrics
from kefu.web.api.support import CHANNEL_STATUS, CLOCK, DB, SETTINGS, USERS

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
METRICS = web.AppKey("metrics", Metrics)
PATH = "/metrics"
BACKLOG_TIMEOUT_SECONDS = 5.0


def route_template(request: web.Request) -> str | None:
    """The matched route's path template, or None when no route serves the path."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


def timing(metrics: Metrics) -> Middleware:
    """The outermost middleware: every request's time to answer, its route and its status."""

    @web.middleware
    async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.request(request.method, route_template(request), status, time.perf_counter() - start)

    return timed


def peer_allowed(peer: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether the socket peer's address is in one of the `allowed` networks."""
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer.partition("%")[0])  # fe80::1%eth0: the zone is no part of it
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 on a dual-stack socket
    return any(address in ipaddress.ip_network(n) for n in allowed)


def _refused(status: int, code: str, message: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="kefu"'} if status == 401 else None
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


async def _admin_refusal(request: web.Request) -> web.Response | None:
    """None when the request carries an admin's valid token; otherwise the answer to give."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _refused(
            401,
            "unauthorized",
            f"/metrics from {request.remote} needs an admin's API token: send 'Authorization: Bearer <token>' "
            "(or list this address in KEFU_METRICS_ALLOW).",
        )
    actor = await request.app[USERS].authenticate_token(token.strip())
    if actor is None:
        return _refused(401, "invalid_token", "The API token is unknown, revoked or its user is disabled.")
    if Role.ADMIN not in actor.roles:
        return _refused(403, "forbidden", "/metrics needs the role admin.")
    return None


async def metrics_page(request: web.Request) -> web.Response:
    if not peer_allowed(request.remote, request.app[SETTINGS].metrics_allow):
        refusal = await _admin_refusal(request)
        if refusal is not None:
            return refusal
    backlog: dict[str, Any] | None
    try:
        async with asyncio.timeout(BACKLOG_TIMEOUT_SECONDS):
            async with request.app[DB].reader() as s:
                backlog = await operations.backlog(s, request.app[CLOCK]())
    except Exception as exc:
        log.warning("metrics: the database does not answer: %s: %s", type(exc).__name__, exc)
        backlog = None
    body = request.app[METRICS].render(backlog, request.app[CHANNEL_STATUS])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def add_metrics_route(app: web.Application, metrics: Metrics) -> None:
    app[METRICS] = metrics
    app.router.add_get(PATH, metrics_page, name="metrics")
