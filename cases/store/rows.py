"""Rows written in bulk: one statement per table when the unit of work flushes.

History, outbox events, the conversation's messages, their attachments and the attachment
bytes are written once and never changed, so they need no identity map. As ORM objects they
cost more than anything else a case writes (profiled on the intake processor: object set-up,
attribute events and the flush's dependency sort were most of the batch's CPU). Here such a row
is a plain dict; a row that refers to a case, or to a message of the same flush, takes that key
when the flush has given it one.

New cases and contacts of an intake batch are ORM objects that the rest of the
unit of work may still read and change; `add_new` queues such an object instead of adding it
to the session: the flush inserts it with the rows of its table (its values as they are then),
gives it its key and attaches it to the session as a stored object, so later changes are
ordinary ORM updates.

Order: the ORM's own statements first, then the queued tables parents before children, so
every foreign key exists. Nothing queued is visible to queries before a flush, exactly as with
ORM objects under ``autoflush=False``. ``UnitOfWorkSession`` in cases/store/db.py calls `write` after
every flush and flushes before every commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, inspect
from sqlalchemy.orm import RelationshipDirection, Session, make_transient_to_detached

from cases.store.models import (
    Attachment,
    Blob,
    Case,
    CaseHistory,
    CaseMessage,
    CaseRating,
    Contact,
    Identity,
    OutboxEvent,
)
from cases.store.upsert import insert_or_skip

_ROWS = "kefu_rows"  # session.info: rows not written yet, in the order they were added

# Parents before children: identities refer to contacts, cases to contacts, attachments to
# their message and to their bytes.
ORDER = (Contact, Identity, Case, Blob, CaseMessage, Attachment, CaseHistory, CaseRating, OutboxEvent)
_KEYED = {CaseMessage}  # rows whose new ids other rows need (new objects always get theirs)


@dataclass(slots=True, eq=False)
class Row:
    model: type
    values: dict[str, Any]
    # foreign key column -> what it points at (an ORM object or a Row): its id, once it has one
    refs: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    obj: Any = None  # a new ORM object (add_new): its values are read when it is written
    # called as hook(connection, objects) for all queued objects with the same (equal) hook,
    # just before they are inserted: what must be decided in the writing statement's
    # transaction and as late as possible (a case's reference number, see records.Numbering)
    before_insert: Any = None


def append(session: Any, model: type, values: dict[str, Any], **refs: Any) -> Row:
    """Queue a row for this unit of work (an AsyncSession or a Session). `refs` name the
    foreign keys that take their value from an object or row: ``case_id=case``."""
    row = Row(model, values, refs)
    session.info.setdefault(_ROWS, []).append(row)
    return row


def add_new(session: Any, obj: Any, before_insert: Callable[[Connection, list[Any]], None] | None = None) -> None:
    """Queue a new ORM object (a Contact or a Case) to be inserted by the next flush."""
    session.info.setdefault(_ROWS, []).append(Row(type(obj), {}, obj=obj, before_insert=before_insert))


def write(session: Session) -> None:
    """Write the queued rows of `session`, after the ORM's statements of its flush."""
    rows: list[Row] | None = session.info.pop(_ROWS, None)
    if not rows:
        return
    conn = session.connection()
    stored: list[Any] = []  # new objects that got their key
    for model in ORDER:
        mine = [
            row
            for row in rows
            if row.model is model
            # a new object that the ORM stored already (it was added to the session after all)
            and (row.obj is None or inspect(row.obj).key is None)
        ]
        hooks: dict[Any, list[Any]] = {}
        for row in mine:
            if row.before_insert is not None:
                hooks.setdefault(row.before_insert, []).append(row.obj)
        for hook, objects in hooks.items():
            hook(conn, objects)
        # One executemany per set of columns (rows of one table may leave different columns out).
        groups: dict[tuple[str, ...], list[Row]] = {}
        for row in mine:
            if row.obj is not None:
                row.values = _column_values(row.obj)
            for column, target in row.refs.items():
                row.values[column] = target.id
            groups.setdefault(tuple(row.values), []).append(row)
        for group in groups.values():
            params = [row.values for row in group]
            if model is Blob:
                conn.execute(insert_or_skip(conn.dialect.name, Blob, ["sha256"]), params)
            elif model in _KEYED or group[0].obj is not None:
                stmt = insert(model).returning(model.id, sort_by_parameter_order=True)  # type: ignore[union-attr]
                for row, new_id in zip(group, conn.execute(stmt, params).scalars(), strict=True):
                    row.id = new_id
                    if row.obj is not None:
                        row.obj.id = new_id
                        stored.append(row.obj)
            else:
                conn.execute(insert(model), params)
    _attach(session, stored)


def _column_values(obj: Any) -> dict[str, Any]:
    """Every column of a new object: what was set, else the column's default; foreign keys
    from the objects its many-to-one relationships point at (stored by now)."""
    mapper = inspect(obj).mapper
    state = obj.__dict__
    for rel in mapper.relationships:
        if rel.direction is RelationshipDirection.MANYTOONE and state.get(rel.key) is not None:
            for local, remote in rel.local_remote_pairs:
                setattr(obj, mapper.get_property_by_column(local).key, getattr(state[rel.key], remote.key))
    values: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        if column.primary_key or attr.key == "_sentinel" or column.computed is not None:
            continue  # the database fills a generated column (cases.severity_rank) itself
        if attr.key not in state:
            default = column.default
            value = (
                default.arg
                if default is not None and default.is_scalar
                else (default.arg({}) if default is not None and default.is_callable else None)
            )
            setattr(obj, attr.key, value)
        values[column.key] = state[attr.key]
    return values


def _attach(session: Session, objects: list[Any]) -> None:
    """The objects are stored now: the session tracks them as loaded. All get their identity
    first: adding one cascades to the objects it refers to (a case to its new contact)."""
    for obj in objects:
        make_transient_to_detached(obj)
    for obj in objects:
        session.add(obj)


def before_commit(session: Session) -> None:
    if session.info.get(_ROWS):
        session.flush()  # UnitOfWorkSession.flush writes the rows, even when nothing else is dirty


def forget(session: Session, _previous: Any = None) -> None:
    session.info.pop(_ROWS, None)
