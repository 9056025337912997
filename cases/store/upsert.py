"""Writes that lean on unique constraints: ``INSERT ... ON CONFLICT DO NOTHING`` in the
spelling of each database. Idempotency lives in the constraints; this is how writers use them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


def insert_or_skip(dialect: str, model: Any, key: list[str] | None = None) -> Any:
    """``INSERT ... ON CONFLICT [(key)] DO NOTHING`` in the spelling of `dialect` (PostgreSQL,
    else SQLite). Idempotency lives in unique constraints; this is how writers lean on them."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(model).on_conflict_do_nothing(index_elements=key)


async def insert_ignore(
    session: AsyncSession, model: Any, values: dict[str, Any], key: list[str], returning: Any = None
) -> Any:
    """One row with `insert_or_skip` [RETURNING], on the session's database."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    stmt = insert_or_skip(dialect, model, key).values(**values)
    if returning is None:
        await session.execute(stmt)
        return None
    return (await session.execute(stmt.returning(returning))).scalar_one_or_none()
