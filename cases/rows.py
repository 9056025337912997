"""Append-only rows written in bulk: one statement per table when the unit of work flushes.

History, outbox events, the conversation's messages, their attachments and the attachment
bytes are written once and never changed, so they need no identity map. As ORM objects they
cost more than anything else a case writes (profiled on the intake processor: object set-up,
attribute events and the flush's dependency sort were most of the batch's CPU). Here a row is a
plain dict; a row that refers to a case, or to a message of the same flush, takes that key when
the flush has given it one. Rows go out after the ORM's own statements of the flush (cases and
contacts first, so every foreign key is there), and before the commit at the latest.

Callers do not see the rows in queries of their own transaction before a flush, exactly as with
ORM objects under ``autoflush=False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from cases.models import Attachment, Blob, CaseHistory, CaseMessage, OutboxEvent

_ROWS = "kefu_rows"  # session.info: rows not written yet, in the order they were added

# Parents before children: attachments refer to their message and to their bytes.
ORDER = (Blob, CaseMessage, Attachment, CaseHistory, OutboxEvent)
_KEYED = {CaseMessage}  # rows whose new id other rows may need


@dataclass(slots=True, eq=False)
class Row:
    model: type
    values: dict[str, Any]
    case: Any = None  # an ORM Case (or None): fills case_id when written
    message: Any = None  # a CaseMessage or a message Row: fills message_id when written
    id: int | None = None


def append(session: Any, model: type, values: dict[str, Any], *, case: Any = None, message: Any = None) -> Row:
    """Queue a row for this unit of work (an AsyncSession or a Session)."""
    row = Row(model, values, case, message)
    session.info.setdefault(_ROWS, []).append(row)
    return row


def write(session: Session) -> None:
    """Write the queued rows of `session` (runs inside its flush or commit)."""
    rows: list[Row] | None = session.info.pop(_ROWS, None)
    if not rows:
        return
    conn = session.connection()
    for model in ORDER:
        # One executemany per set of columns (rows of one table may leave different columns out).
        groups: dict[tuple[str, ...], list[Row]] = {}
        for row in rows:
            if row.model is model:
                if row.case is not None:
                    row.values["case_id"] = row.case.id
                if row.message is not None:
                    row.values["message_id"] = row.message.id
                groups.setdefault(tuple(row.values), []).append(row)
        for group in groups.values():
            params = [row.values for row in group]
            if model is Blob:
                conn.execute(_insert_ignore(conn.dialect.name, Blob, "sha256"), params)
            elif model in _KEYED:
                stmt = insert(model).returning(model.id, sort_by_parameter_order=True)  # type: ignore[attr-defined]
                for row, new_id in zip(group, conn.execute(stmt, params).scalars()):
                    row.id = new_id
            else:
                conn.execute(insert(model), params)


def _insert_ignore(dialect: str, model: type, key: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    return dialect_insert(model).on_conflict_do_nothing(index_elements=[key])


def _after_flush(session: Session, _context: Any) -> None:
    write(session)


def _before_commit(session: Session) -> None:
    if session.info.get(_ROWS):
        session.flush()  # gives new cases their ids; writes the rows unless nothing else was dirty
        write(session)


def _forget(session: Session, _previous: Any = None) -> None:
    session.info.pop(_ROWS, None)


def install(session_class: type[Session]) -> None:
    """Hook the writer into every session of `session_class` (once, in cases/db.py)."""
    if not event.contains(session_class, "after_flush", _after_flush):
        event.listen(session_class, "after_flush", _after_flush)
        event.listen(session_class, "before_commit", _before_commit)
        event.listen(session_class, "after_soft_rollback", _forget)
