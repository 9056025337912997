"""Rebuild the whole search index from the stored cases (`kefu search reindex`): after a
restore, an upgrade of the tokens, or to check that the index holds what the cases say.

Cases are read and written a batch at a time, each batch in its own transaction, so kefu may
keep serving meanwhile; a case written during the run is indexed by its own writer anyway.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select, text

from cases.search.index import TABLE, rebuild
from cases.store.db import Database
from cases.store.models import Case

Progress = Callable[[int, int], None]  # (cases done, cases in all)


async def reindex_all(db: Database, progress: Progress, batch: int = 2000) -> int:
    """Every case's index row rebuilt, rows of cases that no longer exist removed; returns the
    number of cases indexed."""
    async with db.reader() as s:
        total = (await s.execute(select(func.count()).select_from(Case))).scalar_one()
    done, last_id = 0, 0
    progress(0, total)
    while True:
        async with db.unit_of_work() as s:
            ids = list(
                (await s.execute(select(Case.id).where(Case.id > last_id).order_by(Case.id).limit(batch))).scalars()
            )
            if not ids:
                break
            conn = await s.connection()
            await conn.run_sync(rebuild, ids)
        done += len(ids)
        last_id = ids[-1]
        progress(min(done, max(total, done)), max(total, done))
    key = "case_id" if db.dialect == "postgresql" else "rowid"
    async with db.unit_of_work() as s:
        await s.execute(text(f"DELETE FROM {TABLE} WHERE {key} NOT IN (SELECT id FROM cases)"))
    return done
