"""What every API handler needs: the services it uses, the caller, and strict reading of input.

Input mistakes raise `RequestError` (HTTP 400) with a message that names the field; the
error middleware in app.py turns it into the JSON error body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from cases.archive.admin import ArchiveService
from cases.domain.actors import Actor
from cases.domain.clock import Clock
from cases.domain.errors import InvalidInput
from cases.field.alerts import EarlyWarning
from cases.queries.case_views import MAX_LIMIT
from cases.services.case_service import CaseService
from cases.services.entries import EntryService
from cases.services.users import Users
from cases.settings import Settings
from cases.store.db import Database
from cases.store.models.base import BIGID_MAX

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
RERUN_UPDATE: web.AppKey[Callable[[int], Awaitable[Any]]] = web.AppKey("rerun_update")  # a failed Telegram update again
REFAN_EVENT: web.AppKey[Callable[[int], Awaitable[Any]]] = web.AppKey("refan_event")  # the dispatcher's fan-out again
TELEGRAM_LINKS: web.AppKey[LinkTokens | None] = web.AppKey("telegram_links")  # None: the bot is off
CHANNEL_STATUS: web.AppKey[dict[str, Callable[[], dict[str, Any]]]] = web.AppKey("channel_status")
EARLY_WARNING = web.AppKey("early_warning", EarlyWarning)  # the field data's scan (cases/field/)
ACTOR: web.RequestKey[Actor] = web.RequestKey("actor", Actor)


class RequestError(InvalidInput):
    """The request itself is malformed (not JSON, a missing field, a wrong type): HTTP 400."""

    code = "bad_request"


# The integers a request may carry, bounded by what the database holds: every id column is
# BIGINT on PostgreSQL (BigId, cases/store/models/base.py) and SQLite's INTEGER is 64 bits too.
# A larger number reached the database and answered 500 (issue 17, item 5).
ID_MIN, ID_MAX = 1, BIGID_MAX
# Nobody pages a million items deep; a larger offset is a mistake, not a page.
MAX_OFFSET = 1_000_000
DEFAULT_LIMIT = 50
# cases.quantity is INTEGER: 32 bits on PostgreSQL.
MAX_QUANTITY = 2**31 - 1

# ASCII digits only: int() also takes " 12 ", "1_2", "+1" and other scripts' digits ("١٢").
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,30}")


def whole_number(value: object, what: str, *, minimum: int = ID_MIN, maximum: int = ID_MAX) -> int:
    """The one check every integer of a request passes (path, query and JSON body), or a 400
    whose message names `what` it is ("The field 'source'", "The contact id", ...).

    A JSON number is a whole number only as an integer literal: 1e3 and 5.0 are refused, like
    true (which Python would take for 1)."""
    if isinstance(value, str):
        if not _WHOLE_NUMBER.fullmatch(value):
            shown = value if len(value) <= 40 else value[:40] + "…"
            raise RequestError(
                f"{what} must be a whole number, got {shown!r}.", zh=f"{what} 须为整数，实际为 {shown!r}"
            )
        value = int(value)
    elif isinstance(value, bool) or not isinstance(value, int):
        kind = f"{value!r}" if isinstance(value, float) else _json_type(value)
        raise RequestError(f"{what} must be a whole number, not {kind}.", zh=f"{what} 须为整数，而不是 {kind}")
    if not minimum <= value <= maximum:
        raise RequestError(
            f"{what} must be between {minimum} and {maximum}, got {value}.",
            zh=f"{what} 须在 {minimum} 至 {maximum} 之间，实际为 {value}",
        )
    return value


def actor_of(request: web.Request) -> Actor:
    return request[ACTOR]


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body, which must be one JSON object."""
    raw = await request.read()
    if not raw.strip():
        raise RequestError("The request body is empty; send a JSON object.", zh="请求体为空；请发送 JSON 对象")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(
            f"The request body is not valid JSON ({exc}).", zh=f"请求体不是有效的 JSON（{exc}）"
        ) from None
    if not isinstance(body, dict):
        raise RequestError(
            f"The request body must be a JSON object, not {_json_type(body)}.",
            zh=f"请求体须为 JSON 对象，而不是 {_json_type(body)}",
        )
    refuse_nul(body)
    return body


def refuse_nul(value: Any) -> None:
    """A NUL (\\u0000) in any string of a JSON body is refused: PostgreSQL cannot store one in
    text, and the request would fail later with a database error instead of this."""
    if isinstance(value, str):
        if "\x00" in value:
            raise RequestError(
                "A text in the request holds a NUL character (\\u0000), which cannot be stored; remove it.",
                zh="请求中的文本含有无法保存的 NUL 字符（\\u0000），请删除",
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
            raise RequestError(f"The field '{name}' is required (a string).", zh=f"字段 {name} 为必填项（字符串）")
        return default
    value = body[name]
    if not isinstance(value, str):
        raise RequestError(
            f"The field '{name}' must be a string, not {_json_type(value)}.",
            zh=f"字段 {name} 须为字符串，而不是 {_json_type(value)}",
        )
    return value


def no_other_fields(body: dict[str, Any], allowed: set[str]) -> None:
    """Refuse unknown fields: a typo ("departmnet") must not be silently ignored."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise RequestError(
            f"Unknown field '{unknown[0]}'; this request takes: {', '.join(sorted(allowed))}.",
            zh=f"未知的字段 {unknown[0]}；此请求接受：{', '.join(sorted(allowed))}",
        )


def path_id(request: web.Request, name: str, what: str | None = None) -> int:
    """A numeric id from the path (`name` in the route), or a 400 that names `what` it is."""
    return whole_number(request.match_info[name], f"The {what or name.replace('_', ' ')}")


def query_int(
    request: web.Request, name: str, default: int | None, *, minimum: int = 0, maximum: int = ID_MAX
) -> int | None:
    """An integer query parameter; absent: `default`. Present but empty is refused like any
    other text that is not a number (the API description says integer)."""
    if name not in request.query:
        return default
    return whole_number(request.query[name], f"The query parameter '{name}'", minimum=minimum, maximum=maximum)


def int_field(
    body: dict[str, Any], name: str, *, required: bool = True, minimum: int = ID_MIN, maximum: int = ID_MAX
) -> int | None:
    """An integer field of a JSON body (an id unless told otherwise); absent or null: None."""
    if body.get(name) is None:
        if required:
            raise RequestError(f"The field '{name}' is required (a whole number).", zh=f"字段 {name} 为必填项（整数）")
        return None
    return whole_number(body[name], f"The field '{name}'", minimum=minimum, maximum=maximum)


def path_text(request: web.Request, name: str) -> str:
    """A text from the path (a case reference, ...): a NUL in it is refused like one in a body."""
    raw = request.match_info[name]
    if "\x00" in raw:
        raise RequestError(
            f"The {name.replace('_', ' ')} holds a NUL character (%00).", zh=f"{name} 含有 NUL 字符（%00）"
        )
    return raw


def query_text(request: web.Request, name: str) -> str | None:
    """A text query parameter, stripped; absent or empty: None (no filter)."""
    raw = request.query.get(name, "")
    if "\x00" in raw:
        raise RequestError(
            f"The query parameter '{name}' holds a NUL character (%00).", zh=f"查询参数 {name} 含有 NUL 字符（%00）"
        )
    return raw.strip() or None


def paging(request: web.Request) -> tuple[int, int]:
    """`limit` (1..MAX_LIMIT, default 50) and `offset` (0..MAX_OFFSET, default 0) of a list."""
    limit = query_int(request, "limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
    offset = query_int(request, "offset", 0, minimum=0, maximum=MAX_OFFSET)
    assert limit is not None and offset is not None  # both have a default
    return limit, offset


def query_choice(request: web.Request, name: str, choices: list[str]) -> str | None:
    """One of `choices`; absent: None. Present but empty is refused (it is none of them)."""
    if name not in request.query:
        return None
    raw = request.query[name]
    if raw not in choices:
        raise RequestError(
            f"The query parameter '{name}' must be one of: {', '.join(choices)}; got {raw!r}.",
            zh=f"查询参数 {name} 须为以下之一：{', '.join(choices)}；实际为 {raw!r}",
        )
    return raw


def query_instant(request: web.Request, name: str, tz: ZoneInfo, *, end_of_day: bool = False) -> datetime | None:
    """An ISO 8601 instant with an offset, or a date (a day in the company's time zone).

    A date as an upper bound means the end of that day, so `received_to=2026-03-01` includes it.
    Absent: None; present but empty is refused (it is neither).
    """
    if name not in request.query:
        return None
    raw = request.query[name].strip()
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
            f"with an offset (2026-03-01T08:00:00+08:00); got {raw!r}.",
            zh=f"查询参数 {name} 须为日期（2026-03-01）或带时区偏移的 ISO 8601 时间（2026-03-01T08:00:00+08:00）；实际为 {raw!r}",
        ) from None
    if value.tzinfo is None:
        raise RequestError(
            f"The query parameter '{name}' needs a time zone offset such as Z or +08:00; got {raw!r}.",
            zh=f"查询参数 {name} 须带时区偏移，例如 Z 或 +08:00；实际为 {raw!r}",
        )
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
