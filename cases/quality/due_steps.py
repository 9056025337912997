"""Agreed deadlines on a case: each step's due time, its warning and its escalation, once each.

Planned from the customer's service agreement (cases/quality/agreements.py) when the case is
approved, when its customer deadline is set, or by the timer for a case that has none yet.
The timer tells the owner (the case's department, else the approvers; and Sales) once when a
step is near and once more, with the approvers, when it has passed. A step is done when the
workflow takes the step that answers it (`DONE_BY`), or when staff mark it done. The closure
step of a case whose customer set a deadline is that deadline, watched by the case's own
deadline timer (cases/services/deadlines.py), so it is not told twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import SYSTEM, Actor
from cases.domain.clock import Clock
from cases.domain.enums import CaseState, Role
from cases.domain.errors import Forbidden, InvalidInput
from cases.domain.events import EventKind
from cases.domain.states import DEADLINE_RUNS, Action
from cases.quality import calendar
from cases.quality.agreements import Step, Term, parse_terms, terms_for
from cases.services.records import emit, locked_case, record_history
from cases.store.db import Database
from cases.store.models import Case, DueStep

log = logging.getLogger(__name__)

ALL_STEPS = tuple(Step)
# Which workflow step answers which agreed steps (the 8D's D4, D6 and D7 take these actions;
# its D3, containment, calls `answered`).
DONE_BY: dict[Action, tuple[Step, ...]] = {
    Action.APPROVE: (Step.FIRST_ANSWER,),
    Action.DECIDE_NO_ACTION: ALL_STEPS,
    Action.RECORD_ANALYSIS: (Step.FIRST_ANSWER, Step.CONTAINMENT, Step.ROOT_CAUSE),
    Action.RECORD_MEASURES: (Step.FIRST_ANSWER, Step.CONTAINMENT, Step.ROOT_CAUSE),
    Action.REPLY: ALL_STEPS,
}
# Who may mark a step done by hand (containment reported by phone, say).
STEP_KEEPERS: frozenset[Role] = frozenset({Role.DEPARTMENT, Role.QUALITY, Role.SALES, Role.APPROVER})
PLAN_BATCH = 200
CUSTOMER = "customer"  # source of a step the customer's own deadline set


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


class DueSteps:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        tz: ZoneInfo,
        defaults: str,
        warning_hours: float,
        on_commit: Callable[[], None],
    ) -> None:
        self.db = db
        self.clock = clock
        self.tz = tz
        self.defaults: dict[Step, Term] = parse_terms(defaults)
        self.warning = timedelta(hours=warning_hours)
        self._on_commit = on_commit

    async def plan(
        self,
        s: AsyncSession,
        case: Case,
        cal: calendar.WorkingCalendar | None = None,
        *,
        quiet_before: datetime | None = None,
    ) -> None:
        """(Re)plan the case's steps in the caller's unit of work; done steps stay as they are.
        A new step already past `quiet_before` is planned as told: it shows overdue, and nobody
        is warned or escalated about a term that did not exist when the case was approved."""
        cal = cal or await calendar.load(s)
        terms = await terms_for(s, case.customer_id, self.defaults)
        existing = {r.step: r for r in (await s.execute(select(DueStep).where(DueStep.case_id == case.id))).scalars()}
        for step, (term, source) in terms.items():
            due = term.due(case.received_at, cal, self.tz)
            if step is Step.CLOSURE and case.customer_deadline is not None:
                due, source = case.customer_deadline, CUSTOMER  # the customer's deadline wins
            warn_at = due - min(self.warning, (due - case.received_at) / 2)
            row = existing.get(step.value)
            if row is None:
                told = quiet_before if quiet_before is not None and due <= quiet_before else None
                s.add(
                    DueStep(
                        case_id=case.id,
                        step=step.value,
                        due_at=due,
                        warn_at=warn_at,
                        source=source,
                        warned_at=told,
                        overdue_at=told,
                    )
                )
            elif row.done_at is None and (row.due_at != due or row.source != source):
                row.due_at, row.warn_at, row.source = due, warn_at, source
                row.warned_at = row.overdue_at = None

    async def on_action(self, s: AsyncSession, case: Case, action: Action, now: datetime) -> None:
        """The workflow took `action`: the steps it answers are done."""
        steps = DONE_BY.get(action)
        if steps:
            await self._done(s, case, steps, now)

    async def answered(self, s: AsyncSession, case: Case, steps: tuple[Step, ...], now: datetime) -> None:
        """Steps answered by something other than a workflow action (the 8D's signed D3)."""
        await self._done(s, case, steps, now)

    async def _done(self, s: AsyncSession, case: Case, steps: tuple[Step, ...], now: datetime) -> list[str]:
        rows = (
            await s.execute(
                select(DueStep).where(
                    DueStep.case_id == case.id, DueStep.done_at.is_(None), DueStep.step.in_([x.value for x in steps])
                )
            )
        ).scalars()
        done = []
        for row in rows:
            row.done_at = now
            done.append(row.step)
        return done

    async def mark_done(self, actor: Actor, reference: str, step: str) -> Case:
        """Staff mark a step done (an interim action reported by phone, say)."""
        if not actor.roles & STEP_KEEPERS:
            raise Forbidden(
                "marking an agreed step done needs the role department, quality, sales or approver",
                zh="将约定步骤标记为完成需要部门、质量、销售或审批人角色",
            )
        try:
            step_ = Step(step)
        except ValueError:
            raise InvalidInput(
                f"unknown step {step!r}; one of: {', '.join(Step)}", zh=f"未知的步骤 {step!r}；可选：{', '.join(Step)}"
            ) from None
        now = self.clock()
        async with self.db.unit_of_work() as s:
            case = await locked_case(s, reference)
            own_only = actor.roles & STEP_KEEPERS == {Role.DEPARTMENT}
            if own_only and case.department_id != actor.department_id:
                raise Forbidden("this case belongs to another department", zh="此案件属于其他部门")
            await self.plan(s, case)
            await s.flush()
            if not await self._done(s, case, (step_,), now):
                raise InvalidInput(
                    f"the step {step_.value} of {case.reference} is already done",
                    zh=f"案件 {case.reference} 的步骤 {step_.value} 已完成",
                )
            record_history(s, case=case, at=now, actor=actor, action="due_step_done", note=step_.value)
        return case

    async def run_timers(self) -> tuple[int, int]:
        """Plan cases without steps, then tell of steps near and passed, each once.
        Returns (near, passed). New cases are planned here; an approval plans its case at once, so
        an approved case found here without steps was approved before the agreed steps existed
        (an upgrade): its steps already past are planned quietly, so an upgrade sends no burst
        of escalations about old cases."""
        now = self.clock()
        near = passed = 0
        async with self.db.unit_of_work() as s:
            unplanned = (
                await s.execute(
                    select(Case)
                    .where(Case.state.in_(DEADLINE_RUNS), ~Case.id.in_(select(DueStep.case_id).distinct()))
                    .order_by(Case.id)
                    .limit(PLAN_BATCH)
                )
            ).scalars()
            cal = await calendar.load(s)
            for case in unplanned:
                legacy = case.state is not CaseState.NEW
                await self.plan(s, case, cal, quiet_before=now if legacy else None)
            await s.flush()
            due = (
                await s.execute(
                    select(DueStep, Case)
                    .join(Case, Case.id == DueStep.case_id)
                    .where(
                        Case.state.in_(DEADLINE_RUNS),
                        DueStep.done_at.is_(None),
                        ~and_(DueStep.step == Step.CLOSURE.value, DueStep.source == CUSTOMER),
                        or_(
                            and_(DueStep.overdue_at.is_(None), DueStep.due_at <= now),
                            and_(DueStep.warned_at.is_(None), DueStep.warn_at <= now),
                        ),
                    )
                    .order_by(DueStep.due_at, DueStep.id)
                    .with_for_update(skip_locked=True, of=DueStep)
                )
            ).all()
            for row, case in due:
                local = row.due_at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
                details = {"step": row.step, "due": iso(row.due_at), "due_local": local, "source": row.source}
                if row.due_at <= now:
                    row.overdue_at = now
                    row.warned_at = row.warned_at or now
                    record_history(s, case=case, at=now, actor=SYSTEM, action="due_step_passed", note=row.step)
                    emit(s, EventKind.DUE_STEP_PASSED, case, now, details=details)
                    passed += 1
                else:
                    row.warned_at = now
                    record_history(s, case=case, at=now, actor=SYSTEM, action="due_step_near", note=row.step)
                    emit(s, EventKind.DUE_STEP_NEAR, case, now, details=details)
                    near += 1
        if near or passed:
            log.info("agreed steps: %d near, %d passed", near, passed)
            self._on_commit()
        return near, passed


def step_row(row: DueStep, now: datetime) -> dict[str, Any]:
    status = "done" if row.done_at else ("overdue" if row.due_at <= now else "open")
    return {
        "step": row.step,
        "due_at": iso(row.due_at),
        "source": row.source,
        "status": status,
        "done_at": iso(row.done_at),
        "warned_at": iso(row.warned_at),
        "overdue_at": iso(row.overdue_at),
    }


async def steps_of(s: AsyncSession, case_id: int, now: datetime) -> list[dict[str, Any]]:
    order = {step.value: i for i, step in enumerate(Step)}
    rows = (await s.execute(select(DueStep).where(DueStep.case_id == case_id))).scalars()
    return [step_row(r, now) for r in sorted(rows, key=lambda r: order.get(r.step, 99))]
