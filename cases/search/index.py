"""The search index, kept by the writer in the writing transaction.

One row a case holds the terms of everything searchable about it: reference, subject,
description, part number, batch, vehicle, the bodies of its messages (mail, chat, notes,
replies) and the text read from its faxes and scanned letters. On SQLite it is an FTS5 table
(rowid = case id, tokenizer `ascii`: the terms come space-separated from tokens.py); on
PostgreSQL a table with a `tsvector` built by `array_to_tsvector` (the terms as they are, no
configuration's parser in between) under a GIN index.

Every unit of work notes the cases whose searchable text it wrote (`note_flush`, called by
`UnitOfWorkSession.flush`: new or changed cases, new messages, new document texts, and what
`touch` names for writes done in plain SQL) and rebuilds their rows just before it commits
(`before_commit`), in the same transaction: a committed case is findable at once, and a
rolled back one leaves nothing behind. A rebuild reads the case's text back, so whatever wrote
it, the row is the same as `kefu search reindex` would make.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, inspect, select, text
from sqlalchemy.orm import Session

from cases.search.tokens import index_terms
from cases.store.models import Case, CaseMessage, DocumentText

TABLE = "case_search"
_DIRTY = "kefu_search"  # session.info: objects and case ids whose index rows are stale
_ROWS = "kefu_rows"  # cases/store/rows.py's queue, read (never changed) here
_CASE_FIELDS = ("reference", "subject", "description", "part_number", "batch", "vehicle")
CHUNK = 500  # case ids a statement


def touch(session: Any, case_id: int) -> None:
    """The case's searchable text was written with plain SQL: rebuild its row at commit."""
    session.info.setdefault(_DIRTY, []).append(case_id)


def note_flush(session: Session) -> None:
    """Note what this flush will write that changes a case's searchable text."""
    found: list[Any] = session.info.setdefault(_DIRTY, [])
    for obj in session.new:
        if isinstance(obj, (Case, CaseMessage, DocumentText)):
            found.append(obj)
    for obj in session.dirty:
        if isinstance(obj, Case) and any(inspect(obj).attrs[name].history.has_changes() for name in _CASE_FIELDS):
            found.append(obj)
    for row in session.info.get(_ROWS, ()):
        if row.model is Case and row.obj is not None:
            found.append(row.obj)
        elif row.model is CaseMessage:
            found.append(row)


def _case_id(item: Any) -> int | None:
    if isinstance(item, int):
        return item
    if isinstance(item, Case):
        return item.id
    if isinstance(item, (CaseMessage, DocumentText)):
        return item.case_id
    values = getattr(item, "values", None)  # a queued row of cases/store/rows.py, written by now
    return values.get("case_id") if values is not None else None


def before_commit(session: Session) -> None:
    found = session.info.pop(_DIRTY, None)
    if not found:
        return
    ids = {i for i in map(_case_id, found) if i is not None}
    if ids:
        rebuild(session.connection(), sorted(ids))


def forget(session: Session, _previous: Any = None) -> None:
    session.info.pop(_DIRTY, None)


# Marks the index's reads in the SQL (a reader of the statement log, or a test counting a
# batch's thread lookups, tells them from the rest).
MARK = "/* search index */"


def case_texts(conn: Connection, ids: list[int]) -> dict[int, list[str]]:
    """Everything searchable about these cases, as texts per case id: three statements."""
    texts: dict[int, list[str]] = {i: [] for i in ids}
    fields = [getattr(Case, name) for name in _CASE_FIELDS]
    for row in conn.execute(select(Case.id, *fields).where(Case.id.in_(ids)).prefix_with(MARK)):
        texts[row[0]].extend(v for v in row[1:] if v)
    for case_id, subject, body in conn.execute(
        select(CaseMessage.case_id, CaseMessage.subject, CaseMessage.body)
        .where(CaseMessage.case_id.in_(ids))
        .prefix_with(MARK)
    ):
        texts[case_id].extend((subject, body))
    for case_id, document in conn.execute(
        select(DocumentText.case_id, DocumentText.text)
        .where(DocumentText.case_id.in_(ids), DocumentText.text != "")
        .prefix_with(MARK)
    ):
        texts[case_id].append(document)
    return texts


def rebuild(conn: Connection, ids: Iterable[int]) -> int:
    """Write the index rows of these cases from their stored text; how many were written."""
    done = 0
    ids = list(ids)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        texts = case_texts(conn, chunk)
        write_terms(conn, {i: index_terms("\n".join(t)) for i, t in texts.items()})
        done += len(chunk)
    return done


def write_terms(conn: Connection, terms: dict[int, set[str]]) -> None:
    """Replace the index rows of these case ids with these terms (bench/many_cases.py writes
    generated cases with it directly)."""
    ids = list(terms)
    rows: list[dict[str, Any]] = [{"id": i, "terms": sorted(t)} for i, t in terms.items()]
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(f"DELETE FROM {TABLE} WHERE case_id = ANY(:ids)").bindparams(bindparam("ids", type_=_bigint_array())),
            {"ids": ids},
        )
        if rows:
            conn.execute(
                text(f"INSERT INTO {TABLE} (case_id, terms) VALUES (:id, array_to_tsvector(CAST(:terms AS text[])))"),
                rows,
            )
        return
    conn.execute(text(f"DELETE FROM {TABLE} WHERE rowid IN ({','.join(str(int(i)) for i in ids)})"))
    if rows:
        conn.execute(
            text(f"INSERT INTO {TABLE} (rowid, terms) VALUES (:id, :terms)"),
            [{"id": r["id"], "terms": " ".join(r["terms"])} for r in rows],
        )


def _bigint_array() -> Any:
    from sqlalchemy import BigInteger
    from sqlalchemy.dialects.postgresql import ARRAY

    return ARRAY(BigInteger)
