"""the case list's sorts by reference, customer deadline, severity and state

Two columns the database computes from a case's severity and state: their rank in the grade
order (low 1 .. critical 4) and in the workflow order (new 1 .. no_action 8), as
cases/domain/ranks.py says (frozen here: a later change of those orders is a new migration).
Generated columns keep themselves right under every writer; SQLite adds them VIRTUAL (3.31+),
PostgreSQL STORED (12+). Each sort key gets its `(key, id)` index for keyset paging; the cases
without a deadline, which that sort reads after the others by id, a partial index on id.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

SEVERITY_RANK = (
    "CASE severity WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 WHEN 'critical' THEN 4 ELSE 0 END"
)
STATE_RANK = (
    "CASE state WHEN 'new' THEN 1 WHEN 'assigned' THEN 2 WHEN 'analysed' THEN 3 WHEN 'measures_taken' THEN 4"
    " WHEN 'verified' THEN 5 WHEN 'awaiting_satisfaction' THEN 6 WHEN 'closed' THEN 7 WHEN 'no_action' THEN 8"
    " ELSE 0 END"
)
SORT_KEYS = {
    "ix_cases_reference_id": ["reference", "id"],
    "ix_cases_customer_deadline_id": ["customer_deadline", "id"],
    "ix_cases_severity_rank_id": ["severity_rank", "id"],
    "ix_cases_state_rank_id": ["state_rank", "id"],
}


def upgrade() -> None:
    # PostgreSQL indexes only STORED generated columns (18's default VIRTUAL ones it cannot);
    # SQLite adds only VIRTUAL ones to an existing table, and indexes them.
    stored = True if op.get_bind().dialect.name == "postgresql" else None
    for name, sql in (("severity_rank", SEVERITY_RANK), ("state_rank", STATE_RANK)):
        op.add_column("cases", sa.Column(name, sa.Integer(), sa.Computed(sql, persisted=stored), nullable=False))
    for name, columns in SORT_KEYS.items():
        op.create_index(name, "cases", columns)
    # The cases without a deadline come after the others, by id: PostgreSQL does not read the
    # `IS NULL` entries of the index above in id order, this partial index it does.
    no_deadline = sa.text("customer_deadline IS NULL")
    op.create_index("ix_cases_id_no_deadline", "cases", ["id"], sqlite_where=no_deadline, postgresql_where=no_deadline)


def downgrade() -> None:
    op.drop_index("ix_cases_id_no_deadline", "cases")
    for name in SORT_KEYS:
        op.drop_index(name, "cases")
    op.drop_column("cases", "state_rank")
    op.drop_column("cases", "severity_rank")
