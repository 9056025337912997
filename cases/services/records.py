"""What every change writes beside itself: a history row, an outbox event, a reference number.

History rows and events are append-only rows (`cases.store.rows`), written in bulk at the flush."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.enums import CaseState
from cases.domain.events import EventKind
from cases.store import rows
from cases.store.models import CaseHistory, OutboxEvent, ReferenceCounter
from cases.store.models.base import clip
from cases.store.upsert import insert_or_skip

if TYPE_CHECKING:
    from cases.domain.states import Action
    from cases.store.models import Case

log = logging.getLogger(__name__)


def record_history(
    session: AsyncSession,
    *,
    case: Case,
    at: datetime,
    actor: Actor,
    action: str,
    from_state: CaseState | None = None,
    to_state: CaseState | None = None,
    changes: dict[str, Any] | None = None,
    note: str = "",
) -> None:
    rows.append(
        session,
        CaseHistory,
        dict(
            at=at,
            actor_user_id=actor.user_id,
            actor=clip(CaseHistory.actor, actor.label),
            action=action,
            from_state=from_state,
            to_state=to_state,
            changes=changes or {},
            note=note,
        ),
        case_id=case,
    )


def emit(session: AsyncSession, kind: EventKind, case: Case, at: datetime, **payload: Any) -> None:
    """Write an event in the caller's transaction; the dispatcher delivers it after commit.

    The event keeps the case's department at this step (``department_id``): its notices go to,
    and name, that department, not the one the case has when the dispatcher runs."""
    payload.setdefault("department_id", case.department_id)
    rows.append(session, OutboxEvent, dict(kind=kind.value, payload=payload, created_at=at), case_id=case)


def emit_staff_notice(session: AsyncSession, kind: EventKind, at: datetime, **payload: Any) -> None:
    """Write an event about no case (a report falling due): its notices go to staff only,
    delivered after commit like any other (notifications/routing.py routes it to staff)."""
    rows.append(session, OutboxEvent, dict(kind=kind.value, payload=payload, created_at=at, case_id=None))


@dataclass(frozen=True, slots=True)
class Numbering:
    """Gives new cases their reference, FB-2026-000123, when they are inserted (the
    ``before_insert`` hook of `cases.store.rows.add_new`): all new cases of a flush with one
    ``UPDATE ... RETURNING`` of their counter, in the transaction that inserts them.

    The counter's row is locked from that statement to the commit, so instances never share a
    number, and a rolled-back batch gives its numbers back with it: the series has no gaps, as
    a register of feedback forms should. Taking the number at the flush, not when the case is
    opened, keeps the lock short: on SQLite the whole database's write lock, which the SMTP
    intake waits for before it can answer ``250``."""

    prefix: str
    year: int

    def __call__(self, conn: Connection, cases: list[Case]) -> None:
        last = _advance(conn, self.prefix, self.year, len(cases))
        for value, case in enumerate(cases, last - len(cases) + 1):
            case.reference = f"{self.prefix}-{self.year}-{value:06d}"
            log.info("opened %s from %s channel", case.reference, case.channel)


def _advance(conn: Connection, prefix: str, year: int, count: int) -> int:
    """Take `count` numbers of the (prefix, year) series; returns the last one."""
    # Core on the connection: the ORM's UPDATE machinery cost more than the statement.
    stmt = (
        update(ReferenceCounter)
        .where(ReferenceCounter.prefix == prefix, ReferenceCounter.year == year)
        .values(last_value=ReferenceCounter.last_value + count)
        .returning(ReferenceCounter.last_value)
    )
    value = conn.execute(stmt).scalar_one_or_none()
    if value is None:
        conn.execute(insert_or_skip(conn.dialect.name, ReferenceCounter).values(prefix=prefix, year=year, last_value=0))
        value = conn.execute(stmt).scalar_one()
    return int(value)


async def locked_case(session: AsyncSession, reference: str) -> Case:
    """The case with this reference, row-locked for the caller's unit of work."""
    from cases.domain.errors import NotFound
    from cases.store.models import Case

    case = (
        await session.execute(select(Case).where(Case.reference == reference.strip().upper()).with_for_update())
    ).scalar_one_or_none()
    if case is None:
        raise NotFound(f"no case {reference}", zh=f"案件 {reference} 不存在")
    return case


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def apply_step(
    session: AsyncSession,
    case: Case,
    action: Action,
    actor: Actor,
    now: datetime,
    values: dict[str, Any],
    note: str = "",
    via_8d: bool = False,
) -> None:
    """Check the transition table, change the case, and append the history row with before/after."""
    from cases.domain.states import check

    transition = check(action, case.state, actor, case.department_id, case.severity, via_8d)
    before = case.state
    changes = {k: [_plain(getattr(case, k)), _plain(v)] for k, v in values.items() if getattr(case, k) != v}
    for key, value in values.items():
        setattr(case, key, value)
    case.state = transition.target
    case.updated_at = now
    record_history(
        session,
        case=case,
        at=now,
        actor=actor,
        action=action.value,
        from_state=before,
        to_state=case.state,
        changes=changes,
        note=note,
    )
    log.info("%s: %s by %s (%s -> %s)", case.reference, action.value, actor.label, before, case.state)
