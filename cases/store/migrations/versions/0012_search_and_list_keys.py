"""full-text search over cases (Chinese bigrams, English words) and the case list's sort keys

On SQLite an FTS5 table `case_search` (rowid = case id); on PostgreSQL a table of tsvectors
under a GIN index. Both are filled here from the stored cases (cases/search/index.py, the same
code the writer uses); `kefu search reindex` rebuilds them at any time. The indexes on
(sort key, id) serve the case list's keyset paging, alone and after a state or department.

Revision ID: 0012
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0015"
branch_labels = None
depends_on = None

LIST_KEYS = {
    "ix_cases_received_at_id": ["received_at", "id"],
    "ix_cases_updated_at_id": ["updated_at", "id"],
    "ix_cases_state_received_at_id": ["state", "received_at", "id"],
    "ix_cases_department_id_received_at_id": ["department_id", "received_at", "id"],
}


def upgrade() -> None:
    for name, columns in LIST_KEYS.items():
        op.create_index(name, "cases", columns)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE case_search (case_id BIGINT PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,"
            " terms TSVECTOR NOT NULL)"
        )
        op.execute("CREATE INDEX ix_case_search_terms ON case_search USING GIN (terms)")
    else:
        # `ascii`: the terms arrive space-separated and already folded (cases/search/tokens.py);
        # `detail=none`: AND and prefix queries need no positions, and the index stays small.
        op.execute("CREATE VIRTUAL TABLE case_search USING fts5(terms, tokenize = 'ascii', detail = none)")
    from cases.search.index import rebuild

    ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM cases ORDER BY id"))]
    rebuild(bind, ids)


def downgrade() -> None:
    op.execute("DROP TABLE case_search")
    for name in LIST_KEYS:
        op.drop_index(name, "cases")
