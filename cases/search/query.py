"""The query side: which cases a search text finds, as a condition on `Case.id`."""

from __future__ import annotations

from sqlalchemy import BigInteger, ColumnElement, column, or_, text

from cases.search.index import TABLE
from cases.search.tokens import fts5_query, query_terms, ts_query
from cases.store.models import Case


def matching(dialect: str, q: str) -> ColumnElement[bool]:
    """Cases whose index holds every term of `q` (cut as tokens.py says). A text with no word in
    it (only punctuation: `%`, `#`) is looked for as it is in the reference, subject and part
    number, as the list did before the index."""
    terms = query_terms(q)
    if not terms:
        literal = q.strip()
        return or_(
            Case.reference.icontains(literal, autoescape=True),
            Case.subject.icontains(literal, autoescape=True),
            Case.part_number.icontains(literal, autoescape=True),
        )
    if dialect == "postgresql":
        found = text(f"SELECT case_id FROM {TABLE} WHERE terms @@ CAST(:search_terms AS tsquery)").bindparams(
            search_terms=ts_query(terms)
        )
    else:
        found = text(f"SELECT rowid AS case_id FROM {TABLE} WHERE {TABLE} MATCH :search_terms").bindparams(
            search_terms=fts5_query(terms)
        )
    return Case.id.in_(found.columns(column("case_id", BigInteger)))
