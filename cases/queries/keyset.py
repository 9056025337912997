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

A sort whose key may be missing (the customer's deadline) puts the cases without one after the
others in both directions. Row values cannot say that (a NULL in a row comparison is unknown),
so such a list is read in two runs of the same `(key, id)` index: the keyed rows in order, then
the rows whose key IS NULL by id (`Sort.keyed` / `Sort.unkeyed`); a cursor with a null key
points into the second run. Severity and state sort by their rank columns (cases/domain/ranks.py).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, UnaryExpression, tuple_

from cases.domain.errors import InvalidInput
from cases.store.models import Case

CURSOR_PATTERN = "^[A-Za-z0-9_-]{1,400}$"  # what `Cursor.encode` writes


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"


class Key(StrEnum):
    """What a sort key is, for the cursor to write it and read it back."""

    TIME = "time"  # an aware datetime, as ISO 8601
    TEXT = "text"
    RANK = "rank"  # an integer


CursorKey = datetime | str | int | None


def _not_ours() -> InvalidCursor:
    return InvalidCursor(
        "The query parameter 'cursor' is not a cursor this list gave out: pass the 'next_cursor' "
        "of the previous page unchanged, or leave it out for the first page.",
        zh="查询参数 cursor 不是此列表给出的游标：请原样传回上一页的 next_cursor，或在请求第一页时省略",
    )


@dataclass(frozen=True, slots=True)
class Sort:
    name: str  # as the API takes it: "-received_at" is newest first
    column: Any
    descending: bool
    key: Key = Key.TIME
    # The key may be NULL: such rows come last, in either direction (two runs, see above).
    nullable: bool = False

    def order_by(self) -> tuple[UnaryExpression[Any], UnaryExpression[Any]]:
        if self.descending:
            return self.column.desc(), Case.id.desc()
        return self.column.asc(), Case.id.asc()

    def after(self, cursor: Cursor) -> ColumnElement[bool]:
        """Rows after the cursor's row in this order (row values: both databases use the index).
        For a nullable sort, within the cursor's run: `keyed` or `unkeyed` adds the other half."""
        if cursor.key is None:
            return Case.id < cursor.id if self.descending else Case.id > cursor.id
        mine, theirs = tuple_(self.column, Case.id), tuple_(cursor.key, cursor.id)
        return mine < theirs if self.descending else mine > theirs

    def keyed(self) -> ColumnElement[bool]:
        """The first run of a nullable sort: the rows with a key, in (key, id) order."""
        present: ColumnElement[bool] = self.column.is_not(None)
        return present

    def unkeyed(self) -> tuple[ColumnElement[bool], UnaryExpression[Any]]:
        """The second run of a nullable sort: the rows without a key, and their order (by id,
        in the sort's direction: the index's `(NULL, id)` entries, walked either way)."""
        return self.column.is_(None), Case.id.desc() if self.descending else Case.id.asc()


def _both(name: str, column: Any, key: Key = Key.TIME, nullable: bool = False) -> tuple[Sort, Sort]:
    return Sort(f"-{name}", column, True, key, nullable), Sort(name, column, False, key, nullable)


SORTS: dict[str, Sort] = {
    s.name: s
    for s in (
        *_both("received_at", Case.received_at),
        *_both("updated_at", Case.updated_at),
        *_both("reference", Case.reference, Key.TEXT),
        *_both("customer_deadline", Case.customer_deadline, nullable=True),
        # by grade (critical highest: "-severity" puts them first) and by workflow step
        *_both("severity", Case.severity_rank, Key.RANK),
        *_both("state", Case.state_rank, Key.RANK),
    )
}
DEFAULT_SORT = "-received_at"


@dataclass(frozen=True, slots=True)
class Cursor:
    sort: str
    key: CursorKey
    id: int

    def encode(self) -> str:
        key = self.key.isoformat() if isinstance(self.key, datetime) else self.key
        raw = json.dumps([self.sort, key, self.id], separators=(",", ":"), ensure_ascii=True)
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def next_cursor(sort: Sort, case: Any) -> str:
    """The cursor after `case` (a Case, or a row with its columns by name)."""
    return Cursor(sort.name, getattr(case, sort.column.key), case.id).encode()


def _key(sort: Sort, value: Any) -> CursorKey:
    """The key a cursor holds, read back as the sort's kind; ValueError when it is not one."""
    if value is None and sort.nullable:
        return None
    if sort.key is Key.TIME and isinstance(value, str):
        instant = datetime.fromisoformat(value)
        if instant.tzinfo is None:
            raise ValueError("a cursor's time has an offset")
        return instant
    if sort.key is Key.TEXT and isinstance(value, str) and len(value) <= 200:
        return value
    if sort.key is Key.RANK and type(value) is int and 0 <= value < 1000:
        return value
    raise ValueError(f"not a {sort.key} key")


def decode(text: str, sort: Sort) -> Cursor:
    """The cursor a client sent back, checked."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        name, value, case_id = json.loads(raw)
        valid = isinstance(name, str) and type(case_id) is int and 1 <= case_id < 2**63
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        valid = False
    if not valid:
        raise _not_ours()
    if name != sort.name:
        raise InvalidCursor(
            f"The cursor was given out for sort={name}, not sort={sort.name}: keep the sort of the "
            "page it came from, or leave the cursor out to start again.",
            zh=f"该游标是按 sort={name} 给出的，而不是 sort={sort.name}：请保持该页的排序方式，或省略游标重新开始",
        )
    try:
        key = _key(sort, value)
    except ValueError:
        raise _not_ours() from None
    return Cursor(name, key, case_id)
