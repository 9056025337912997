"""What waits for one person: the console's first page ("My work").

Each section is a count and its newest few cases, read within the reader's `Scope` (a
department member sees only their department's cases). Which states wait for whom is the
table `WAITING_FOR`, read from the procedure: the approver decides new cases, the department
analyses and takes measures, Quality verifies, Sales replies.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.enums import CaseState, Direction, Role, Satisfaction, Speaker
from cases.domain.states import DEADLINE_RUNS
from cases.queries.case_views import Row, Scope, iso
from cases.store.models import Case, CaseMessage, Customer, Department, DueStep

SHOWN = 10  # cases listed per section; the count says how many there are in all

# role -> the states in which a case waits for that role's next step
WAITING_FOR: dict[Role, tuple[CaseState, ...]] = {
    Role.APPROVER: (CaseState.NEW,),
    Role.DEPARTMENT: (CaseState.ASSIGNED, CaseState.ANALYSED),
    Role.QUALITY: (CaseState.MEASURES_TAKEN,),
    Role.SALES: (CaseState.VERIFIED,),
}


async def _section(s: AsyncSession, *where: ColumnElement[bool]) -> Row:
    total = (await s.execute(select(func.count()).select_from(Case).where(*where))).scalar_one()
    rows = (
        await s.execute(
            select(Case.reference, Case.subject, Case.state, Case.severity, Case.received_at, Customer.name)
            .join(Customer, Customer.id == Case.customer_id)
            .where(*where)
            .order_by(Case.received_at.desc(), Case.id.desc())
            .limit(SHOWN)
        )
    ).all()
    items = [
        {
            "reference": r[0],
            "subject": r[1],
            "state": r[2],
            "severity": r[3],
            "received_at": iso(r[4]),
            "customer_name": r[5],
        }
        for r in rows
    ]
    return {"total": int(total), "items": items}


async def my_work(s: AsyncSession, actor: Actor, scope: Scope, now: datetime, warning_hours: float) -> Row:
    visible = scope.condition()
    sections: dict[str, Any] = {}
    for role, states in WAITING_FOR.items():
        if role in actor.roles:
            sections[f"waiting_{role.value}"] = await _section(s, visible, Case.state.in_(states))

    # The department's cases by state (a department member's own; everyone else's department too)
    by_state: dict[str, int] = {}
    if actor.department_id is not None:
        rows = await s.execute(
            select(Case.state, func.count())
            .where(Case.department_id == actor.department_id, visible)
            .group_by(Case.state)
        )
        by_state = {str(state): int(n) for state, n in rows.all()}
    department = None
    if actor.department_id is not None:
        department = (
            await s.execute(select(Department.code).where(Department.id == actor.department_id))
        ).scalar_one_or_none()

    open_steps = and_(DueStep.done_at.is_(None), Case.state.in_(DEADLINE_RUNS), visible)
    overdue_where = (open_steps, DueStep.due_at <= now)
    due_where = (open_steps, DueStep.due_at > now, DueStep.due_at <= now + timedelta(hours=warning_hours))
    sections["steps_overdue"] = await _steps(s, now, *overdue_where)
    sections["steps_due"] = await _steps(s, now, *due_where)

    # Unanswered: the last message of the case that is not a note and not an automatic notice
    # (an acknowledgement answers nothing) came in from the customer.
    last = (
        select(CaseMessage.case_id, func.max(CaseMessage.id).label("last_id"))
        .where(CaseMessage.direction != Direction.NOTE, CaseMessage.is_automatic.is_(False))
        .group_by(CaseMessage.case_id)
        .subquery()
    )
    unanswered = Case.id.in_(
        select(last.c.case_id)
        .join(CaseMessage, CaseMessage.id == last.c.last_id)
        .where(
            CaseMessage.direction == Direction.IN,
            or_(CaseMessage.speaker.is_(None), CaseMessage.speaker == Speaker.CUSTOMER),
        )
    )
    sections["unanswered"] = await _section(
        s, visible, unanswered, Case.state.not_in((CaseState.CLOSED, CaseState.NO_ACTION))
    )
    sections["unsatisfied"] = await _section(
        s,
        visible,
        or_(Case.rating == Satisfaction.UNSATISFIED, and_(Case.reopen_count > 0, Case.state != CaseState.CLOSED)),
    )
    return {"sections": sections, "by_state": by_state, "department": department}


async def _steps(s: AsyncSession, now: datetime, *where: ColumnElement[bool]) -> Row:
    total = (
        await s.execute(select(func.count(DueStep.id)).join(Case, Case.id == DueStep.case_id).where(*where))
    ).scalar_one()
    rows = (
        await s.execute(
            select(DueStep.step, DueStep.due_at, Case.reference, Case.subject, Case.state)
            .join(Case, Case.id == DueStep.case_id)
            .where(*where)
            .order_by(DueStep.due_at, DueStep.id)
            .limit(SHOWN)
        )
    ).all()
    items = [
        {"step": r[0], "due_at": iso(r[1]), "reference": r[2], "subject": r[3], "state": r[4], "overdue": r[1] <= now}
        for r in rows
    ]
    return {"total": int(total), "items": items}
