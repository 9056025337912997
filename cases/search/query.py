"""The query side: which cases a search text finds, as a condition on `Case.id`.

On SQLite the planner cannot know how many cases a term matches, and takes the same plan for
all: look every match up by id, then sort them all by the list's key. For a common word (漏油
in one case of ten, measured on 100,000 generated cases) that is 30-40 ms a page; walking the
list's `(key, id)` index in order and keeping the cases the index found stops after one page
(1-3 ms). For a rare term (a part number) the walk would cover the whole index (~20 ms) where
the lookups take 0.1 ms. So the matches are counted first in the index alone (about a
millisecond even for 10,000 matches) and the plan chosen by that count: `cases.id + 0` keeps
SQLite from the id lookups. PostgreSQL's planner has statistics for this and is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, ColumnElement, column, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import TextualSelect

from cases.search.index import TABLE
from cases.search.tokens import Term, fts5_query, query_terms, ts_query
from cases.store.models import Case

# Above this many matches a page walks the list's index in order instead of looking matches up.
WALK_ABOVE = 1000


@dataclass(frozen=True, slots=True)
class Search:
    dialect: str
    q: str
    terms: list[Term]
    matches: int  # cases the index finds for the terms (before any other filter)

    @classmethod
    async def prepare(cls, s: AsyncSession, q: str) -> Search:
        dialect = s.get_bind().dialect.name
        terms = query_terms(q)
        search = cls(dialect, q, terms, 0)
        if not terms:
            return search
        matches = (await s.execute(select(func.count()).select_from(search._found().subquery()))).scalar_one()
        return cls(dialect, q, terms, matches)

    def _found(self) -> TextualSelect:
        if self.dialect == "postgresql":
            found = text(f"SELECT case_id FROM {TABLE} WHERE terms @@ CAST(:search_terms AS tsquery)").bindparams(
                search_terms=ts_query(self.terms)
            )
        else:
            found = text(f"SELECT rowid AS case_id FROM {TABLE} WHERE {TABLE} MATCH :search_terms").bindparams(
                search_terms=fts5_query(self.terms)
            )
        return found.columns(column("case_id", BigInteger))

    def condition(self) -> ColumnElement[bool]:
        """Cases whose index holds every term (cut as tokens.py says). A text with no word in it
        (only punctuation: `%`, `#`) is looked for as it is in the reference, subject and part
        number, as the list did before the index."""
        if not self.terms:
            literal = self.q.strip()
            return or_(
                Case.reference.icontains(literal, autoescape=True),
                Case.subject.icontains(literal, autoescape=True),
                Case.part_number.icontains(literal, autoescape=True),
            )
        walk = self.dialect == "sqlite" and self.matches > WALK_ABOVE
        key = (Case.id + 0) if walk else Case.id
        return key.in_(self._found())
