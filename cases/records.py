"""What every change writes beside itself: a history row, an outbox event, a reference number.

History rows and events are append-only rows (`cases.rows`), written in bulk at the flush."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases import rows
from cases.actors import Actor
from cases.events import EventKind
from cases.models import CaseHistory, OutboxEvent, ReferenceCounter

if TYPE_CHECKING:
    from cases.models import Case
    from cases.states import Action

log = logging.getLogger(__name__)


def record_history(
    session: AsyncSession,
    *,
    case: Case,
    at: datetime,
    actor: Actor,
    action: str,
    from_state: str | None = None,
    to_state: str | None = None,
    changes: dict[str, Any] | None = None,
    note: str = "",
) -> None:
    rows.append(session, CaseHistory, dict(
        at=at, actor_user_id=actor.user_id, actor=actor.label, action=action,
        from_state=from_state, to_state=to_state, changes=changes or {}, note=note,
    ), case_id=case)


def emit(session: AsyncSession, kind: EventKind, case: Case, at: datetime, **payload: Any) -> None:
    """Write an event in the caller's transaction; the dispatcher delivers it after commit."""
    rows.append(session, OutboxEvent, dict(kind=kind.value, payload=payload, created_at=at), case_id=case)


_BLOCKS = "kefu_reference_blocks"  # session.info: (prefix, year) -> [next value, last reserved]
_RESERVE = "kefu_reference_reserve"  # session.info: how many numbers to take at once


def reserve_references(session: AsyncSession, count: int) -> None:
    """Let this unit of work take up to `count` references with one statement (a batch)."""
    session.info[_RESERVE] = max(1, count)


async def next_reference(session: AsyncSession, prefix: str, year: int) -> str:
    """FB-2026-000123. UPDATE ... RETURNING takes a row lock, so instances never share a number.

    A batch takes a block of numbers at once; the lock is held until commit, so the numbers it
    did not use are given back by `release_references` before then, and the series stays
    without gaps, as a register of feedback forms should."""
    blocks: dict[tuple[str, int], list[int]] = session.info.setdefault(_BLOCKS, {})
    block = blocks.get((prefix, year))
    if block is None or block[0] > block[1]:
        count = session.info.get(_RESERVE, 1)
        last = await _advance(session, prefix, year, count)
        block = blocks[(prefix, year)] = [last - count + 1, last]
    value = block[0]
    block[0] += 1
    return f"{prefix}-{year}-{value:06d}"


async def release_references(session: AsyncSession) -> None:
    """Give back the numbers of this unit of work's blocks that it did not use."""
    for (prefix, year), (following, last) in session.info.pop(_BLOCKS, {}).items():
        if following <= last:
            conn = await session.connection()
            await conn.execute(
                update(ReferenceCounter)
                .where(ReferenceCounter.prefix == prefix, ReferenceCounter.year == year,
                       ReferenceCounter.last_value == last)
                .values(last_value=following - 1)
            )


async def _advance(session: AsyncSession, prefix: str, year: int, count: int) -> int:
    # Core on the connection: the ORM's UPDATE machinery cost more than the statement.
    conn = await session.connection()
    stmt = (
        update(ReferenceCounter)
        .where(ReferenceCounter.prefix == prefix, ReferenceCounter.year == year)
        .values(last_value=ReferenceCounter.last_value + count)
        .returning(ReferenceCounter.last_value)
    )
    value = (await conn.execute(stmt)).scalar_one_or_none()
    if value is None:
        dialect = conn.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            ins = pg_insert(ReferenceCounter).on_conflict_do_nothing()
        else:
            ins = insert(ReferenceCounter).prefix_with("OR IGNORE")
        await conn.execute(ins.values(prefix=prefix, year=year, last_value=0))
        value = (await conn.execute(stmt)).scalar_one()
    return int(value)


async def locked_case(session: AsyncSession, reference: str) -> "Case":
    """The case with this reference, row-locked for the caller's unit of work."""
    from cases.errors import NotFound
    from cases.models import Case

    case = (await session.execute(
        select(Case).where(Case.reference == reference.strip().upper()).with_for_update()
    )).scalar_one_or_none()
    if case is None:
        raise NotFound(f"no case {reference}")
    return case


async def reference_exists(session: AsyncSession, reference: str) -> bool:
    from cases.models import Case

    return (await session.execute(select(Case.id).where(Case.reference == reference))).first() is not None


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def apply_step(session: AsyncSession, case: Case, action: Action, actor: Actor, now: datetime,
               values: dict[str, Any], note: str = "") -> None:
    """Check the transition table, change the case, and append the history row with before/after."""
    from cases.enums import CaseState
    from cases.states import check

    transition = check(action, CaseState(case.state), actor, case.department_id)
    before = case.state
    changes = {k: [_plain(getattr(case, k)), _plain(v)] for k, v in values.items() if getattr(case, k) != v}
    for key, value in values.items():
        setattr(case, key, value)
    case.state = transition.target.value
    case.updated_at = now
    record_history(session, case=case, at=now, actor=actor, action=action.value,
                   from_state=before, to_state=case.state, changes=changes, note=note)
    log.info("%s: %s by %s (%s -> %s)", case.reference, action.value, actor.label, before, case.state)
