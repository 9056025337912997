"""CaseService: the only writer of case state. Every workflow step is one unit of work that
checks the transition table, changes the case, appends history and writes outbox events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import SYSTEM, Actor
from cases.domain.clock import Clock
from cases.domain.delivery_report import DeliveryReport
from cases.domain.enums import CaseState, Channel, Direction, Satisfaction, Severity
from cases.domain.errors import Forbidden, IllegalTransition, InvalidInput
from cases.domain.events import EventKind
from cases.domain.intake_message import IntakeMessage
from cases.domain.states import Action
from cases.domain.tokens import Signer
from cases.field.records import feed_case
from cases.quality import failure_modes, form
from cases.quality.due_steps import DueSteps
from cases.quality.eightd import EightD
from cases.quality.service_report import ServiceReports
from cases.quality.warranty import WarrantyParts
from cases.rules.service import RuleService
from cases.services import bounces, holds, ratings
from cases.services.deadlines import Deadlines, parse_deadline
from cases.services.receiving import Outcome, Receiver
from cases.services.records import apply_step, emit, locked_case, record_history
from cases.services.satisfaction import parse_satisfaction
from cases.services.staff_replies import StaffStep
from cases.services.users import actor_for
from cases.settings import Settings
from cases.store.db import Database
from cases.store.models import Case, CaseMessage, Department, User

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StepResult:
    reference: str
    state: str


def _text(value: str | None, what: str, limit: int = 20000) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"{what} must not be empty", zh=f"{what} 不能为空")
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters", zh=f"{what} 超过 {limit} 个字符")
    return value


class CaseService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        signer: Signer,
        clock: Clock,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.signer = signer
        self.clock = clock
        self.receiver = Receiver(signer, settings.reference_prefix, settings.tz, settings.closed_case_reopen_days)
        self._on_commit = on_commit  # wakes the notification dispatcher
        self.deadlines = Deadlines(db, clock, settings.tz, settings.deadline_warning_hours, on_commit)
        # The quality room (cases/quality/): agreed steps, warranty parts, on-site service reports.
        self.due_steps = DueSteps(
            db, clock, settings.tz, settings.agreement_defaults, settings.step_warning_hours, on_commit
        )
        self.warranty = WarrantyParts(db, clock, self.deadlines, self.due_steps)
        self.eightd = EightD(db, clock, self.due_steps)
        self.service_reports = ServiceReports(
            db, clock, signer, settings.tz, settings.service_report_prefix, settings.mail_domains[0]
        )
        # The rule tables an admin keeps: severity, routing, intake holds (cases/rules/).
        self.rules = RuleService(db, clock)

    # -- intake ------------------------------------------------------------------------------
    async def receive(
        self, session: AsyncSession, msg: IntakeMessage, inbound_id: int | None = None, *, flush: bool = True
    ) -> Outcome:
        """Within the caller's unit of work. Flushed at once, so that a new case has its id and
        reference; the intake processor receives a whole batch and flushes once (flush=False)."""
        outcome = await self.receiver.receive(session, msg, self.clock(), inbound_id)
        if outcome.staff_step is not None and outcome.staff_id is not None:
            await self._staff_step(session, outcome.case, outcome.staff_id, outcome.staff_step)
        if flush:
            await session.flush()
            if outcome.opened:  # a batch of intake is fed by the scan's catch-up (cases/field/records.py)
                await feed_case(session, outcome.case, self.settings.tz, self.clock())
        return outcome

    async def _staff_step(self, s: AsyncSession, case: Case, staff_id: int, step: StaffStep) -> None:
        """A step a staff member took by answering their notice by mail
        (cases/services/staff_replies.py): the same checks as in the API; a refusal is noted on
        the case, never an intake failure."""
        user = await s.get(User, staff_id)
        if user is None:
            return
        actor = actor_for(user)
        now = self.clock()
        try:
            if step.action is Action.APPROVE and step.department is not None:
                dept = await self._department(s, step.department)
                apply_step(s, case, Action.APPROVE, actor, now, {"department_id": dept.id}, "by reply to the notice")
                await self.due_steps.plan(s, case)
                await s.flush()
                await self.due_steps.on_action(s, case, Action.APPROVE, now)
                emit(s, EventKind.CASE_APPROVED, case, now, department=dept.code)
            elif step.action is Action.DECIDE_NO_ACTION:
                reason = _text(step.reason, "the reason for no action (不做处理)", 4000)
                values = {"no_action_reason": reason, "closed_at": now}
                apply_step(s, case, Action.DECIDE_NO_ACTION, actor, now, values, "by reply to the notice")
                await self.due_steps.on_action(s, case, Action.DECIDE_NO_ACTION, now)
                emit(s, EventKind.NO_ACTION_DECIDED, case, now, reason=reason)
        except (Forbidden, IllegalTransition, InvalidInput) as exc:
            note = f"the reply asked to {step.action}, refused: {exc}"
            record_history(s, case=case, at=now, actor=actor, action="staff_step_not_taken", note=note[:2000])

    async def hold_reason(self, session: AsyncSession, msg: IntakeMessage) -> str | None:
        """Why a mail the intake rules allow no new case (bulk, auto-reply) is held, or None
        when it threads to a case or (bulk) comes from a known contact (cases/services/holds.py)."""
        return await holds.hold_reason(session, self.receiver, msg)

    async def record_report(self, session: AsyncSession, report: DeliveryReport) -> bounces.ReportOutcome | None:
        """A bounce about one of our notices, recorded on it (cases/services/bounces.py)."""
        return await bounces.record_report(session, self.signer, report, self.clock())

    async def clear_bounce(self, actor: Actor, identity_id: int) -> dict[str, Any]:
        """Staff clear the bounce mark of an address; notices go there again."""
        async with self.db.unit_of_work() as s:
            identity = await bounces.clear_bounce(s, identity_id, actor)
            return {"id": identity.id, "kind": identity.kind, "value": identity.value, "bounced_at": None}

    def committed(self) -> None:
        self._on_commit()

    # -- workflow ----------------------------------------------------------------------------
    async def approve(
        self,
        actor: Actor,
        reference: str,
        department: str,
        severity: str | None = None,
        note: str = "",
        deadline: str | None = None,
    ) -> StepResult:
        due = parse_deadline(deadline, self.settings.tz, self.clock()) if deadline else None
        async with self.db.unit_of_work() as s:
            dept = await self._department(s, department)
            values: dict[str, Any] = {"department_id": dept.id}
            if severity:  # the approver's choice wins over the severity table (cases/quality/severity.py)
                values["severity"] = _severity(severity)
                values["severity_by_approver"] = True
            case = await self._step(s, actor, reference, Action.APPROVE, values, note)
            if due is not None:
                self.deadlines.apply(s, case, due, actor, self.clock())
            await self.due_steps.plan(s, case)  # the agreed steps, from the customer's notice on
            await s.flush()
            await self.due_steps.on_action(s, case, Action.APPROVE, self.clock())
            emit(s, EventKind.CASE_APPROVED, case, self.clock(), department=dept.code)
        return self._done(case)

    async def set_deadline(self, actor: Actor, reference: str, deadline: str, note: str = "") -> StepResult:
        """Record or move the customer's deadline (approver, Sales or Quality)."""
        return self._done(await self.deadlines.set(actor, reference, deadline, note, then=self.due_steps.plan))

    async def run_deadline_timers(self) -> tuple[int, int]:
        return await self.deadlines.run_timers()

    async def run_due_step_timers(self) -> tuple[int, int]:
        """The agreed steps' warnings and escalations (cases/quality/due_steps.py)."""
        return await self.due_steps.run_timers()

    async def mark_step_done(self, actor: Actor, reference: str, step: str) -> StepResult:
        return self._done(await self.due_steps.mark_done(actor, reference, step))

    async def decide_no_action(self, actor: Actor, reference: str, reason: str) -> StepResult:
        reason = _text(reason, "the reason for no action (不做处理)", 4000)
        async with self.db.unit_of_work() as s:
            case = await self._step(
                s, actor, reference, Action.DECIDE_NO_ACTION, {"no_action_reason": reason, "closed_at": self.clock()}
            )
            emit(s, EventKind.NO_ACTION_DECIDED, case, self.clock(), reason=reason)
        return self._done(case)

    async def reassign(self, actor: Actor, reference: str, department: str, note: str = "") -> StepResult:
        async with self.db.unit_of_work() as s:
            dept = await self._department(s, department)
            case = await self._step(s, actor, reference, Action.REASSIGN, {"department_id": dept.id}, note)
            emit(s, EventKind.CASE_REASSIGNED, case, self.clock(), department=dept.code)
        return self._done(case)

    async def record_analysis(self, actor: Actor, reference: str, analysis: str) -> StepResult:
        analysis = _text(analysis, "the analysis")
        async with self.db.unit_of_work() as s:
            case = await self._step(s, actor, reference, Action.RECORD_ANALYSIS, {"analysis": analysis})
            emit(s, EventKind.ANALYSIS_RECORDED, case, self.clock())
        return self._done(case)

    async def record_measures(self, actor: Actor, reference: str, measures: str) -> StepResult:
        measures = _text(measures, "the measures")
        async with self.db.unit_of_work() as s:
            case = await self._step(s, actor, reference, Action.RECORD_MEASURES, {"measures": measures})
            emit(s, EventKind.MEASURES_RECORDED, case, self.clock())
        return self._done(case)

    async def verify(self, actor: Actor, reference: str, verification: str) -> StepResult:
        verification = _text(verification, "the verification result")
        async with self.db.unit_of_work() as s:
            case = await self._step(s, actor, reference, Action.VERIFY, {"verification": verification})
            emit(s, EventKind.CASE_VERIFIED, case, self.clock())
        return self._done(case)

    async def reject_verification(self, actor: Actor, reference: str, note: str) -> StepResult:
        note = _text(note, "why the measures are not effective", 4000)
        async with self.db.unit_of_work() as s:
            case = await self._step(s, actor, reference, Action.REJECT_VERIFICATION, {"verification": note}, note)
            emit(s, EventKind.VERIFICATION_REJECTED, case, self.clock(), note=note)
        return self._done(case)

    async def reply(self, actor: Actor, reference: str, message: str) -> StepResult:
        """Sales reports the result to the customer, which also asks for 满意度确认."""
        message = _text(message, "the reply to the customer")
        now = self.clock()
        async with self.db.unit_of_work() as s:
            case = await self._step(
                s, actor, reference, Action.REPLY, {"satisfaction_requested_at": now, "reminder_sent_at": None}
            )
            s.add(
                CaseMessage(
                    case_id=case.id,
                    direction=Direction.OUT,
                    channel=case.reply_channel,
                    author_user_id=actor.user_id,
                    sender=actor.label,
                    subject=case.subject,
                    body=message,
                    new_text=message,
                    created_at=now,
                )
            )
            emit(s, EventKind.CUSTOMER_REPLIED_TO, case, now, message=message)
        return self._done(case)

    async def record_rating(
        self, actor: Actor, reference: str, rating: str, channel: str, note: str = ""
    ) -> StepResult:
        """Sales records the rating a customer gave by phone or on site (满意度确认 6.3.6): the
        same rules as an answer by mail (cases/services/ratings.py), the channel recorded."""
        answer = parse_satisfaction(_text(rating, "the rating", 200))
        if answer.rating is None or answer.ambiguous:
            raise InvalidInput(
                f"{rating!r} is not a rating kefu can read: 非常满意 / 满意 / 一般 / 不满意 / 非常不满意, "
                "the English words, a score 1-5 or stars",
                zh=f"无法识别评价 {rating!r}：请使用 非常满意 / 满意 / 一般 / 不满意 / 非常不满意、对应的英文词语、1-5 分或星级",
            )
        by = _rating_channel(channel)
        now = self.clock()
        async with self.db.unit_of_work() as s:
            case = await self._case(s, reference)
            ratings.rate(
                s,
                case,
                answer.rating,
                answer.score,
                actor,
                now,
                channel=by,
                by_staff=True,
                matched=answer.matched,
                text=note,
            )
        return self._done(case)

    async def add_note(self, actor: Actor, reference: str, text: str) -> StepResult:
        text = _text(text, "the note")
        now = self.clock()
        async with self.db.unit_of_work() as s:
            case = await self._case(s, reference)
            s.add(
                CaseMessage(
                    case_id=case.id,
                    direction=Direction.NOTE,
                    channel="internal",
                    author_user_id=actor.user_id,
                    sender=actor.label,
                    body=text,
                    new_text=text,
                    created_at=now,
                )
            )
            record_history(s, case=case, at=now, actor=actor, action="note", note=text[:500])
        return self._done(case)

    # -- the form and its tables (cases/quality/form.py, severity.py, failure_modes.py) ---------
    async def correct_form(self, actor: Actor, reference: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Staff correct the feedback form; each change in the history with before and after."""
        async with self.db.unit_of_work() as s:
            case, changes, found = await form.correct(
                s,
                actor,
                reference,
                fields,
                self.clock(),
                self.settings.severity_quantity_threshold,
                self.settings.repeat_window_days,
            )
        self._on_commit()
        return {"reference": case.reference, "state": case.state, "changes": changes, "repeat_of": found}

    async def set_severity_rule(self, actor: Actor, category: str, grade: str) -> dict[str, str]:
        """The severity table's key, through the one mechanism of every rule table (cases/rules/)."""
        changed = await self.rules.change(actor, "severity", category, grade)
        return {"category": changed["key"], "grade": changed["value"]}

    async def put_failure_mode(
        self, actor: Actor, code: str, name_zh: str, name_en: str, active: bool
    ) -> dict[str, Any]:
        async with self.db.unit_of_work() as s:
            mode = await failure_modes.put(s, actor, code, name_zh, name_en, active, self.clock())
            return failure_modes.row_of(mode)

    # -- timers ------------------------------------------------------------------------------
    async def run_satisfaction_timers(self) -> tuple[int, int]:
        """One reminder after N days without an answer, then close as "no response"."""
        now = self.clock()
        remind_before = now - timedelta(days=self.settings.satisfaction_reminder_days)
        close_before = now - timedelta(days=self.settings.satisfaction_close_days)
        reminded = closed = 0
        async with self.db.unit_of_work() as s:
            waiting = (
                (
                    await s.execute(
                        select(Case)
                        .where(Case.state == CaseState.AWAITING_SATISFACTION)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            for case in waiting:
                if (
                    case.reminder_sent_at is None
                    and case.satisfaction_requested_at
                    and case.satisfaction_requested_at <= remind_before
                ):
                    apply_step(s, case, Action.REMIND, SYSTEM, now, {"reminder_sent_at": now}, "")
                    emit(s, EventKind.SATISFACTION_REMINDER, case, now)
                    reminded += 1
                elif case.reminder_sent_at is not None and case.reminder_sent_at <= close_before:
                    apply_step(
                        s,
                        case,
                        Action.CLOSE_NO_RESPONSE,
                        SYSTEM,
                        now,
                        {"rating": Satisfaction.NO_RESPONSE, "closed_at": now},
                        "no answer after the reminder",
                    )
                    emit(s, EventKind.CLOSED_NO_RESPONSE, case, now)
                    ratings.keep(
                        s,
                        case,
                        Satisfaction.NO_RESPONSE,
                        None,
                        now,
                        channel=case.reply_channel,
                        source="timer",
                        actor=SYSTEM,
                    )
                    closed += 1
        if reminded or closed:
            self._on_commit()
        return reminded, closed

    # -- helpers -----------------------------------------------------------------------------
    async def _case(self, s: AsyncSession, reference: str) -> Case:
        return await locked_case(s, reference)

    async def _department(self, s: AsyncSession, code: str) -> Department:
        """An active department to give a case to. FOR SHARE: a deactivation (which locks the
        row FOR UPDATE, cases/services/departments.py) waits for this assignment, or this one
        sees it deactivated."""
        stmt = select(Department).where(Department.code == code).with_for_update(read=True)
        dept = (await s.execute(stmt)).scalar_one_or_none()
        if dept is None or not dept.active:
            active = select(Department.code).where(Department.active).order_by(Department.id)
            codes = ", ".join((await s.execute(active)).scalars())
            what, what_zh = ("unknown", "未知的") if dept is None else ("deactivated", "已停用的")
            raise InvalidInput(
                f"{what} department {code!r}; one of: {codes}", zh=f"{what_zh}部门 {code!r}；可选：{codes}"
            )
        return dept

    async def _step(
        self, s: AsyncSession, actor: Actor, reference: str, action: Action, values: dict[str, Any], note: str = ""
    ) -> Case:
        case = await self._case(s, reference)
        apply_step(s, case, action, actor, self.clock(), values, note)
        await self.due_steps.on_action(s, case, action, self.clock())
        return case

    def _done(self, case: Case) -> StepResult:
        self._on_commit()
        return StepResult(case.reference, case.state)


def _rating_channel(value: str) -> str:
    try:
        return Channel(value.strip()).value
    except ValueError:
        raise InvalidInput(
            f"unknown channel {value!r}; one of: {', '.join(Channel)}",
            zh=f"未知的渠道 {value!r}；可选：{', '.join(Channel)}",
        ) from None


def _severity(value: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise InvalidInput(
            f"unknown severity {value!r}; one of: {', '.join(Severity)}",
            zh=f"未知的严重度 {value!r}；可选：{', '.join(Severity)}",
        ) from None
