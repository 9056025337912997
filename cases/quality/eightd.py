"""The 8D of a high or critical case and its review team (procedure 6.3.3-6.3.5), run through
the table of cases/quality/eightd_steps.py.

- The approver or Quality names the review team: people of at least two departments, one
  leader. Their departments may read the case; only the responsible department and Quality
  write and sign the steps.
- Steps are recorded and signed in order: a step may be written once the step before it is
  signed. A signed version is never changed: editing it adds the next version.
- Signing D4, D6 and D7 takes the case's `record_analysis`, `record_measures` and `verify`.
- The customer may send the 8D back to a step with a comment: the report's revision goes up,
  that step and every later signed step get a new (unsigned) version, and the case returns to
  the state before that step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.domain.actors import Actor
from cases.domain.clock import Clock
from cases.domain.enums import CaseState, Role
from cases.domain.errors import Forbidden, IllegalTransition, InvalidInput
from cases.domain.events import EventKind
from cases.domain.states import EIGHT_D_SEVERITIES, TERMINAL, TRANSITIONS, Action
from cases.domain.vocabulary import label
from cases.quality.due_steps import DueSteps
from cases.quality.eightd_steps import ORDER, RETURNS, RULES, WRITERS, D, step_of, summary
from cases.services.records import apply_step, emit, locked_case, record_history
from cases.store.db import Database
from cases.store.models import Case, Department, EightDReport, EightDStep, ReviewTeamMember, User

log = logging.getLogger(__name__)

TEAM_FORMERS: frozenset[Role] = frozenset({Role.APPROVER, Role.QUALITY})
RETURN_RECORDERS: frozenset[Role] = frozenset({Role.SALES, Role.QUALITY})
MIN_TEAM_DEPARTMENTS = 2
_FORWARD = (
    CaseState.ASSIGNED,
    CaseState.ANALYSED,
    CaseState.MEASURES_TAKEN,
    CaseState.VERIFIED,
    CaseState.AWAITING_SATISFACTION,
)
MAX_TEAM = 30
# What each signature writes into the case's own fields, and the event it tells.
_ON_SIGN: dict[Action, tuple[str, EventKind]] = {
    Action.RECORD_ANALYSIS: ("analysis", EventKind.ANALYSIS_RECORDED),
    Action.RECORD_MEASURES: ("measures", EventKind.MEASURES_RECORDED),
    Action.VERIFY: ("verification", EventKind.CASE_VERIFIED),
}


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    department: str  # a department code
    leader: bool = False
    username: str | None = None


class EightD:
    def __init__(self, db: Database, clock: Clock, due_steps: DueSteps) -> None:
        self.db = db
        self.clock = clock
        self.due_steps = due_steps

    # -- the review team -----------------------------------------------------------------------
    async def set_team(self, actor: Actor, reference: str, members: list[Member]) -> Case:
        if not actor.roles & TEAM_FORMERS:
            raise Forbidden(
                "forming the review team needs the role approver or quality", zh="组建评审小组需要审批人或质量角色"
            )
        if not members or len(members) > MAX_TEAM:
            raise InvalidInput(f"a review team has 1 to {MAX_TEAM} members", zh=f"评审小组须有 1 至 {MAX_TEAM} 名成员")
        leaders = [m for m in members if m.leader]
        if len(leaders) != 1:
            raise InvalidInput(
                f"a review team has exactly one leader, not {len(leaders)}",
                zh=f"评审小组须有且仅有一名组长，而不是 {len(leaders)} 名",
            )
        if len({m.department for m in members}) < MIN_TEAM_DEPARTMENTS:
            raise InvalidInput(
                f"a review team brings together at least {MIN_TEAM_DEPARTMENTS} departments",
                zh=f"评审小组须由至少 {MIN_TEAM_DEPARTMENTS} 个部门的成员组成",
            )
        now = self.clock()
        async with self.db.unit_of_work() as s:
            case = await _live_case(s, reference)
            # active departments, and those already on this team (a deactivated one may stay)
            on_team = select(ReviewTeamMember.department_id).where(ReviewTeamMember.case_id == case.id)
            offered = select(Department).where(Department.active | Department.id.in_(on_team)).order_by(Department.id)
            departments = {d.code: d for d in (await s.execute(offered)).scalars()}
            rows = []
            for m in members:
                name = m.name.strip()
                if not name or len(name) > 120:
                    raise InvalidInput(
                        "each member's name is 1 to 120 characters", zh="每名成员的姓名须为 1 至 120 个字符"
                    )
                dept = departments.get(m.department)
                if dept is None:
                    raise InvalidInput(
                        f"unknown or deactivated department {m.department!r}; one of: {', '.join(departments)}",
                        zh=f"未知或已停用的部门 {m.department!r}；可选：{', '.join(departments)}",
                    )
                user_id = None
                if m.username:
                    user = (await s.execute(select(User).where(User.username == m.username))).scalar_one_or_none()
                    if user is None:
                        raise InvalidInput(f"no staff user {m.username!r}", zh=f"没有员工账号 {m.username!r}")
                    user_id = user.id
                rows.append((name, dept, user_id, m.leader))
            before = await _team_labels(s, case.id)
            await s.execute(delete(ReviewTeamMember).where(ReviewTeamMember.case_id == case.id))
            for name, dept, user_id, leader in rows:
                s.add(
                    ReviewTeamMember(
                        case_id=case.id,
                        name=name,
                        department_id=dept.id,
                        user_id=user_id,
                        leader=leader,
                        added_by=actor.label[:120],
                        added_at=now,
                    )
                )
            after = [f"{n} ({d.code}){' *' if leader else ''}" for n, d, _, leader in rows]
            record_history(
                s, case=case, at=now, actor=actor, action="review_team_set", changes={"review_team": [before, after]}
            )
            emit(
                s,
                EventKind.REVIEW_TEAM_FORMED,
                case,
                now,
                details={"team": "; ".join(after), "leader": leaders[0].name},
            )
        log.info("%s: review team of %d set by %s", case.reference, len(rows), actor.label)
        return case

    # -- the steps -----------------------------------------------------------------------------
    async def record(self, actor: Actor, reference: str, step_name: str, content: Any) -> EightDStep:
        step = step_of(step_name)
        if not actor.roles & WRITERS:
            raise Forbidden(
                f"writing {step} needs the role department or quality", zh=f"填写 {step} 需要部门或质量角色"
            )
        clean = RULES[step].validate(content)
        now = self.clock()
        async with self.db.unit_of_work() as s:
            case = await _live_case(s, reference)
            _own(actor, case, f"writing {step}")
            report = await self._report(s, case, actor, now)
            current = await _steps(s, case.id)
            _previous_signed(step, current)
            row = current.get(step)
            if row is None or row.signed_at is not None:
                version = 1 if row is None else row.version + 1
                row = EightDStep(
                    case_id=case.id,
                    step=step.value,
                    version=version,
                    report_revision=report.revision,
                    content=clean,
                    edited_by=actor.label[:120],
                    edited_at=now,
                    customer_comment=None,
                )
                s.add(row)
            else:
                row.content, row.edited_by, row.edited_at = clean, actor.label[:120], now
            record_history(s, case=case, at=now, actor=actor, action="8d_recorded", note=f"{step} v{row.version}")
            await s.flush()
        return row

    async def sign(self, actor: Actor, reference: str, step_name: str) -> tuple[Case, EightDStep]:
        step = step_of(step_name)
        rule = RULES[step]
        granted = rule.signers & actor.roles
        if not granted:
            raise Forbidden(
                f"signing {step} needs the role {' or '.join(sorted(rule.signers))}",
                zh=f"签署 {step} 需要以下角色之一：{'、'.join(sorted(rule.signers))}",
            )
        now = self.clock()
        async with self.db.unit_of_work() as s:
            case = await _live_case(s, reference)
            if granted == {Role.DEPARTMENT}:
                _own(actor, case, f"signing {step}")
            current = await _steps(s, case.id)
            _previous_signed(step, current)
            row = current.get(step)
            if row is None:
                raise IllegalTransition(f"{step} has nothing recorded to sign", zh=f"{step} 尚无可签署的记录")
            if row.signed_at is not None:
                raise IllegalTransition(
                    f"{step} v{row.version} was signed by {row.signed_by}; record a new version",
                    zh=f"{step} 第 {row.version} 版已由 {row.signed_by} 签署；请记录新版本",
                )
            if step is D.D1:
                departments = (
                    await s.execute(
                        select(ReviewTeamMember.department_id).where(ReviewTeamMember.case_id == case.id).distinct()
                    )
                ).all()
                if len(departments) < MIN_TEAM_DEPARTMENTS:
                    raise IllegalTransition(
                        "D1 is signed once the review team is formed (PUT .../review-team)",
                        zh="D1 须在评审小组组建后签署（PUT .../review-team）",
                    )
                row.content = {**row.content, "team": await _team_labels(s, case.id)}
            row.signed_by, row.signed_at = actor.label[:120], now
            row.signed_role = sorted(granted)[0].value
            record_history(s, case=case, at=now, actor=actor, action="8d_signed", note=f"{step} v{row.version}")
            if rule.on_sign is not None and not _already_past(case.state, rule.on_sign):
                field, kind = _ON_SIGN[rule.on_sign]
                text = summary(step, row.content)
                apply_step(s, case, rule.on_sign, actor, now, {field: text}, f"8D {step} signed", via_8d=True)
                await self.due_steps.on_action(s, case, rule.on_sign, now)
                emit(s, kind, case, now)
            if rule.answers:
                await self.due_steps.answered(s, case, rule.answers, now)
            await s.flush()
        log.info("%s: 8D %s v%d signed by %s", case.reference, step, row.version, actor.label)
        return case, row

    async def customer_return(self, actor: Actor, reference: str, step_name: str, comment: str) -> Case:
        """The customer rejects the 8D at `step`, with their comment (recorded by Sales or Quality)."""
        step = step_of(step_name)
        if not actor.roles & RETURN_RECORDERS:
            raise Forbidden(
                "recording the customer's rejection needs the role quality or sales",
                zh="记录客户的退回意见需要质量或销售角色",
            )
        comment = (comment or "").strip()
        if not comment or len(comment) > 8000:
            raise InvalidInput(
                "the customer's comment must say what they question (at most 8000 characters)",
                zh="客户意见须说明其质疑之处（不超过 8000 个字符）",
            )
        now = self.clock()
        async with self.db.unit_of_work() as s:
            case = await _live_case(s, reference)
            report = await _existing_report(s, case)
            current = await _steps(s, case.id)
            questioned = current.get(step)
            if questioned is None or questioned.signed_at is None:
                raise IllegalTransition(
                    f"{step} is not signed; the customer can only send back what they were sent",
                    zh=f"{step} 尚未签署；客户只能退回已发送给他们的内容",
                )
            reopen_from = D.D7 if step is D.D8 else step
            report.revision += 1
            report.returned_step, report.customer_comment, report.returned_at = step.value, comment, now
            for d in ORDER[ORDER.index(reopen_from) :]:
                row = current.get(d)
                if row is None or row.signed_at is None:
                    continue
                s.add(
                    EightDStep(
                        case_id=case.id,
                        step=d.value,
                        version=row.version + 1,
                        report_revision=report.revision,
                        content={k: v for k, v in row.content.items() if k != "team"},
                        edited_by=actor.label[:120],
                        edited_at=now,
                        customer_comment=comment if d is step else None,
                    )
                )
            apply_step(s, case, RETURNS[step], actor, now, {}, f"8D returned to {step}: {comment}", via_8d=True)
            details = {"step": step.value, "comment": comment, "revision": report.revision}
            emit(s, EventKind.EIGHTD_RETURNED, case, now, details=details)
            await s.flush()
        log.info("%s: 8D returned to %s by the customer (revision %d)", case.reference, step, report.revision)
        return case

    async def _report(self, s: AsyncSession, case: Case, actor: Actor, now: datetime) -> EightDReport:
        report = (await s.execute(select(EightDReport).where(EightDReport.case_id == case.id))).scalar_one_or_none()
        if report is None:
            if case.severity not in EIGHT_D_SEVERITIES:
                raise IllegalTransition(
                    f"a {case.severity} case takes the short path (analysis, measures); no 8D",
                    zh=f"{label('severity', case.severity, 'zh')}严重度的案件走简化流程（分析、措施），不做 8D",
                )
            if case.state is CaseState.NEW:
                raise IllegalTransition(
                    "the 8D starts once the case is approved and assigned", zh="8D 须在案件批准并分派后开始"
                )
            report = EightDReport(case_id=case.id, revision=1, opened_by=actor.label[:120], opened_at=now)
            s.add(report)
            await s.flush()
        return report


async def _existing_report(s: AsyncSession, case: Case) -> EightDReport:
    report = (
        await s.execute(select(EightDReport).where(EightDReport.case_id == case.id).with_for_update())
    ).scalar_one_or_none()
    if report is None:
        raise IllegalTransition(f"the case {case.reference} has no 8D", zh=f"案件 {case.reference} 没有 8D")
    return report


async def _steps(s: AsyncSession, case_id: int) -> dict[D, EightDStep]:
    """The current (latest) version of each step."""
    rows = (
        await s.execute(select(EightDStep).where(EightDStep.case_id == case_id).order_by(EightDStep.version))
    ).scalars()
    return {D(r.step): r for r in rows}


def _already_past(state: CaseState, action: Action) -> bool:
    """A case raised to high after its short-path analysis: signing D4 records the 8D and leaves
    the state, which is already past `analysed`, as it is."""
    target = TRANSITIONS[action].target
    return state in _FORWARD and target in _FORWARD and _FORWARD.index(state) >= _FORWARD.index(target)


def _previous_signed(step: D, current: dict[D, EightDStep]) -> None:
    index = ORDER.index(step)
    if index == 0:
        return
    before = ORDER[index - 1]
    row = current.get(before)
    if row is None or row.signed_at is None:
        raise IllegalTransition(
            f"{before} must be signed before {step} (the 8D goes in order)",
            zh=f"{before} 须在 {step} 之前签署（8D 按顺序进行）",
        )


def _own(actor: Actor, case: Case, what: str) -> None:
    if Role.QUALITY not in actor.roles and actor.department_id != case.department_id:
        raise Forbidden(
            f"{what}: only the responsible department or quality take the 8D's steps",
            zh=f"{what}：只有责任部门或质量部门可以执行 8D 步骤",
        )


async def _live_case(s: AsyncSession, reference: str) -> Case:
    case = await locked_case(s, reference)
    if case.state in TERMINAL:
        raise IllegalTransition(
            f"the case {case.reference} is {case.state}",
            zh=f"案件 {case.reference} 的状态为“{label('state', case.state, 'zh')}”",
        )
    return case


async def _team_labels(s: AsyncSession, case_id: int) -> list[str]:
    rows = await s.execute(
        select(ReviewTeamMember.name, Department.code, ReviewTeamMember.leader)
        .join(Department, Department.id == ReviewTeamMember.department_id)
        .where(ReviewTeamMember.case_id == case_id)
        .order_by(ReviewTeamMember.id)
    )
    return [f"{name} ({code}){' *' if leader else ''}" for name, code, leader in rows]
