"""Keyset paging for the case list: the sort orders it offers and the cursor it gives out.

A page ends with a cursor naming the last row's (sort key, id); the next page asks for rows
strictly after it in the same order. The database walks a `(key, id)` index from there
(migration 0012), so page 2,000 costs what page 1 costs, and a case arriving meanwhile does not
shift the pages as an offset would. The cursor is opaque to clients (URL-safe base64 of a small
JSON list) and checked on the way back: a cursor that is not one of ours, or one given out for
another sort order, is the client's mistake: a text that cannot be a cursor at all (not
URL-safe base64: `CURSOR_PATTERN`, which the API description states) is a malformed request,
HTTP 400; one of the right shape that is not a cursor of this list is a value refused,
InvalidCursor, HTTP 422 (the same split as everywhere in the API: docs/api.md).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, UnaryExpression, tuple_

from cases.domain.errors import InvalidInput
from cases.store.models import Case

CURSOR_PATTERN = "^[A-Za-z0-9_-]{1,400}$"  # what `Cursor.encode` writes


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"


@dataclass(frozen=True, slots=True)
class Sort:
    name: str  # as the API takes it: "-received_at" is newest first
    column: Any
    descending: bool

    def order_by(self) -> tuple[UnaryExpression[Any], UnaryExpression[Any]]:
        if self.descending:
            return self.column.desc(), Case.id.desc()
        return self.column.asc(), Case.id.asc()

    def after(self, cursor: Cursor) -> ColumnElement[bool]:
        """Rows after the cursor's row in this order (row values: both databases use the index)."""
        mine, theirs = tuple_(self.column, Case.id), tuple_(cursor.key, cursor.id)
        return mine < theirs if self.descending else mine > theirs


SORTS: dict[str, Sort] = {
    s.name: s
    for s in (
        Sort("-received_at", Case.received_at, True),
        Sort("received_at", Case.received_at, False),
        Sort("-updated_at", Case.updated_at, True),
        Sort("updated_at", Case.updated_at, False),
    )
}
DEFAULT_SORT = "-received_at"


@dataclass(frozen=True, slots=True)
class Cursor:
    sort: str
    key: datetime
    id: int

    def encode(self) -> str:
        raw = json.dumps([self.sort, self.key.isoformat(), self.id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def next_cursor(sort: Sort, case: Any) -> str:
    """The cursor after `case` (a Case, or a row with its columns by name)."""
    return Cursor(sort.name, getattr(case, sort.column.key), case.id).encode()


def decode(text: str, sort: Sort) -> Cursor:
    """The cursor a client sent back, checked."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        name, key, case_id = json.loads(raw)
        instant = datetime.fromisoformat(key)
        valid = isinstance(name, str) and isinstance(case_id, int) and 1 <= case_id < 2**63 and instant.tzinfo
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        valid = False
    if not valid:
        raise InvalidCursor(
            "The query parameter 'cursor' is not a cursor this list gave out: pass the 'next_cursor' "
            "of the previous page unchanged, or leave it out for the first page.",
            zh="查询参数 cursor 不是此列表给出的游标：请原样传回上一页的 next_cursor，或在请求第一页时省略",
        )
    if name != sort.name:
        raise InvalidCursor(
            f"The cursor was given out for sort={name}, not sort={sort.name}: keep the sort of the "
            "page it came from, or leave the cursor out to start again.",
            zh=f"该游标是按 sort={name} 给出的，而不是 sort={sort.name}：请保持该页的排序方式，或省略游标重新开始",
        )
    return Cursor(name, instant, case_id)
