"""What every API handler needs: the services it uses, the caller, and strict reading of input.

Input mistakes raise `RequestError` (HTTP 400) with a message that names the field; the
error middleware in app.py turns it into the JSON error body.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from cases.archive.admin import ArchiveService
from cases.domain.actors import Actor
from cases.domain.clock import Clock
from cases.domain.errors import InvalidInput
from cases.services.case_service import CaseService
from cases.services.entries import EntryService
from cases.services.users import Users
from cases.settings import Settings
from cases.store.db import Database

if TYPE_CHECKING:
    from bots.links import LinkTokens

# The services a handler may use, each under its own key (set by kefu.web.app.create_app): a
# handler reads the ones it needs, never a container of everything.
SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
USERS = web.AppKey("users", Users)
CASES = web.AppKey("cases", CaseService)
ENTRIES = web.AppKey("entries", EntryService)
ARCHIVE = web.AppKey("archive", ArchiveService)
RERUN_INBOUND: web.AppKey[Callable[[int], Awaitable[Any]]] = web.AppKey("rerun_inbound")  # the mail processor's re-run
REFAN_EVENT: web.AppKey[Callable[[int], Awaitable[Any]]] = web.AppKey("refan_event")  # the dispatcher's fan-out again
TELEGRAM_LINKS: web.AppKey[LinkTokens | None] = web.AppKey("telegram_links")  # None: the bot is off
CHANNEL_STATUS: web.AppKey[dict[str, Callable[[], dict[str, Any]]]] = web.AppKey("channel_status")
ACTOR: web.RequestKey[Actor] = web.RequestKey("actor", Actor)


class RequestError(InvalidInput):
    """The request itself is malformed (not JSON, a missing field, a wrong type): HTTP 400."""

    code = "bad_request"


def actor_of(request: web.Request) -> Actor:
    return request[ACTOR]


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body, which must be one JSON object."""
    raw = await request.read()
    if not raw.strip():
        raise RequestError("The request body is empty; send a JSON object.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(f"The request body is not valid JSON ({exc}).") from None
    if not isinstance(body, dict):
        raise RequestError(f"The request body must be a JSON object, not {_json_type(body)}.")
    refuse_nul(body)
    return body


def refuse_nul(value: Any) -> None:
    """A NUL (\\u0000) in any string of a JSON body is refused: PostgreSQL cannot store one in
    text, and the request would fail later with a database error instead of this."""
    if isinstance(value, str):
        if "\x00" in value:
            raise RequestError(
                "A text in the request holds a NUL character (\\u0000), which cannot be stored; remove it."
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_nul(key)
            refuse_nul(item)
    elif isinstance(value, list):
        for item in value:
            refuse_nul(item)


def text_field(body: dict[str, Any], name: str, *, required: bool = True, default: str = "") -> str:
    """A string field; emptiness is for the service to judge (it knows what may be empty)."""
    if name not in body or body[name] is None:
        if required:
            raise RequestError(f"The field '{name}' is required (a string).")
        return default
    value = body[name]
    if not isinstance(value, str):
        raise RequestError(f"The field '{name}' must be a string, not {_json_type(value)}.")
    return value


def no_other_fields(body: dict[str, Any], allowed: set[str]) -> None:
    """Refuse unknown fields: a typo ("departmnet") must not be silently ignored."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise RequestError(f"Unknown field '{unknown[0]}'; this request takes: {', '.join(sorted(allowed))}.")


def path_id(request: web.Request, name: str, what: str | None = None) -> int:
    """A numeric id from the path (`name` in the route), or a 400 that names `what` it is."""
    raw = request.match_info[name]
    if not raw.isdigit():
        raise RequestError(f"The {what or name.replace('_', ' ')} must be a whole number, got {raw!r}.")
    return int(raw)


def query_int(
    request: web.Request, name: str, default: int | None, *, minimum: int = 0, maximum: int | None = None
) -> int | None:
    raw = request.query.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RequestError(f"The query parameter '{name}' must be a whole number, got {raw!r}.") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        raise RequestError(f"The query parameter '{name}' must be between {minimum}{upper}, got {value}.")
    return value


def query_choice(request: web.Request, name: str, choices: list[str]) -> str | None:
    raw = request.query.get(name, "").strip()
    if not raw:
        return None
    if raw not in choices:
        raise RequestError(f"The query parameter '{name}' must be one of: {', '.join(choices)}; got {raw!r}.")
    return raw


def query_instant(request: web.Request, name: str, tz: ZoneInfo, *, end_of_day: bool = False) -> datetime | None:
    """An ISO 8601 instant with an offset, or a date (a day in the company's time zone).

    A date as an upper bound means the end of that day, so `received_to=2026-03-01` includes it.
    """
    raw = request.query.get(name, "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        pass
    else:
        start = datetime.combine(day, time(), tzinfo=tz)
        return start + timedelta(days=1) if end_of_day else start
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise RequestError(
            f"The query parameter '{name}' must be a date (2026-03-01) or an ISO 8601 time "
            f"with an offset (2026-03-01T08:00:00+08:00); got {raw!r}."
        ) from None
    if value.tzinfo is None:
        raise RequestError(f"The query parameter '{name}' needs a time zone offset such as Z or +08:00; got {raw!r}.")
    return value


def _json_type(value: object) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "an array"
        case _:
            return "an object"
