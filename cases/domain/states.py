"""The workflow as one table: every step of the procedure, who may take it, from where to where.

The after-sale branch of the flow chart: feedback form -> approval (or 不做处理) -> department
handles and analyses -> corrective action -> Quality verifies -> Sales replies -> the customer
confirms satisfaction (满意度确认); unsatisfied reopens.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cases.domain.actors import Actor
from cases.domain.enums import CaseState as S
from cases.domain.enums import Role as R
from cases.domain.enums import Severity
from cases.domain.errors import Forbidden, IllegalTransition
from cases.domain.vocabulary import label


class Action(StrEnum):
    APPROVE = "approve"  # approve and assign the responsible department (6.2.3, 6.3.2)
    DECIDE_NO_ACTION = "decide_no_action"  # 不做处理, with a recorded reason
    REASSIGN = "reassign"  # approver moves the case to another department
    RECORD_ANALYSIS = "record_analysis"  # review team's cause analysis (6.3.3)
    RECORD_MEASURES = "record_measures"  # corrective and preventive action (6.3.4)
    VERIFY = "verify"  # Quality follows up and verifies (6.3.5)
    REJECT_VERIFICATION = "reject_verification"  # not effective: back to the department
    REPLY = "reply"  # Sales reports the result to the customer and asks 满意度确认 (6.3.6)
    RATE = "rate"  # the customer's 满意 / 一般 / score closes the case
    REOPEN = "reopen"  # the customer's 不满意 reopens it
    # Sales records a rating the customer gave by phone or on site: the same rules as RATE / REOPEN.
    RECORD_RATING = "record_rating"
    RECORD_UNSATISFIED = "record_unsatisfied"
    REMIND = "remind"  # one reminder when no answer came
    CLOSE_NO_RESPONSE = "close_no_response"  # no answer after the reminder
    # The customer sends the 8D back to a step (cases/quality/eightd.py); the case returns to
    # the state before that step's signature.
    RETURN_TO_ANALYSIS = "return_to_analysis"  # D0-D4 questioned
    RETURN_TO_MEASURES = "return_to_measures"  # D5-D6 questioned
    RETURN_TO_VERIFICATION = "return_to_verification"  # D7-D8 questioned


@dataclass(frozen=True, slots=True)
class Transition:
    sources: frozenset[S]
    target: S
    roles: frozenset[R]
    # Department members may act only on cases of their own department.
    own_department: bool = False


def _t(sources: set[S], target: S, roles: set[R], own_department: bool = False) -> Transition:
    return Transition(frozenset(sources), target, frozenset(roles), own_department)


# Where an 8D the customer rejects may be: its steps are signed, Sales may have answered.
_RETURNABLE = (S.ANALYSED, S.MEASURES_TAKEN, S.VERIFIED, S.AWAITING_SATISFACTION)

TRANSITIONS: dict[Action, Transition] = {
    Action.APPROVE: _t({S.NEW}, S.ASSIGNED, {R.APPROVER}),
    Action.DECIDE_NO_ACTION: _t({S.NEW}, S.NO_ACTION, {R.APPROVER}),
    Action.REASSIGN: _t({S.ASSIGNED, S.ANALYSED}, S.ASSIGNED, {R.APPROVER}),
    Action.RECORD_ANALYSIS: _t({S.ASSIGNED}, S.ANALYSED, {R.DEPARTMENT, R.QUALITY}, own_department=True),
    Action.RECORD_MEASURES: _t({S.ANALYSED}, S.MEASURES_TAKEN, {R.DEPARTMENT, R.QUALITY}, own_department=True),
    Action.VERIFY: _t({S.MEASURES_TAKEN}, S.VERIFIED, {R.QUALITY}),
    Action.REJECT_VERIFICATION: _t({S.MEASURES_TAKEN}, S.ANALYSED, {R.QUALITY}),
    Action.REPLY: _t({S.VERIFIED}, S.AWAITING_SATISFACTION, {R.SALES}),
    Action.RATE: _t({S.AWAITING_SATISFACTION}, S.CLOSED, {R.SYSTEM}),
    Action.REOPEN: _t({S.AWAITING_SATISFACTION, S.CLOSED}, S.ASSIGNED, {R.SYSTEM}),
    Action.RECORD_RATING: _t({S.AWAITING_SATISFACTION}, S.CLOSED, {R.SALES}),
    Action.RECORD_UNSATISFIED: _t({S.AWAITING_SATISFACTION}, S.ASSIGNED, {R.SALES}),
    Action.REMIND: _t({S.AWAITING_SATISFACTION}, S.AWAITING_SATISFACTION, {R.SYSTEM}),
    Action.CLOSE_NO_RESPONSE: _t({S.AWAITING_SATISFACTION}, S.CLOSED, {R.SYSTEM}),
    Action.RETURN_TO_ANALYSIS: _t(set(_RETURNABLE) | {S.ASSIGNED}, S.ASSIGNED, {R.SALES, R.QUALITY}),
    Action.RETURN_TO_MEASURES: _t(set(_RETURNABLE), S.ANALYSED, {R.SALES, R.QUALITY}),
    Action.RETURN_TO_VERIFICATION: _t(set(_RETURNABLE) - {S.ANALYSED}, S.MEASURES_TAKEN, {R.SALES, R.QUALITY}),
}

# High and critical cases are analysed, acted on and verified through their 8D only (6.3.3):
# signing D4, D6 and D7 takes these steps; the short path's endpoints refuse them.
EIGHT_D_SEVERITIES: frozenset[Severity] = frozenset({Severity.HIGH, Severity.CRITICAL})
EIGHT_D_ACTIONS: frozenset[Action] = frozenset(
    {Action.RECORD_ANALYSIS, Action.RECORD_MEASURES, Action.VERIFY, Action.REJECT_VERIFICATION}
)
# Steps only the 8D takes (POST /cases/{ref}/8d/return); never offered as a case's button.
ONLY_VIA_8D: frozenset[Action] = frozenset(
    {Action.RETURN_TO_ANALYSIS, Action.RETURN_TO_MEASURES, Action.RETURN_TO_VERIFICATION}
)

TERMINAL: frozenset[S] = frozenset({S.NO_ACTION, S.CLOSED})

# The states in the order a case goes through them, for sorting (the case list's "state"):
# the open states along the procedure, then the two ends, closed after answering and the
# 不做处理 branch last.
WORKFLOW_ORDER: tuple[S, ...] = (
    S.NEW,
    S.ASSIGNED,
    S.ANALYSED,
    S.MEASURES_TAKEN,
    S.VERIFIED,
    S.AWAITING_SATISFACTION,
    S.CLOSED,
    S.NO_ACTION,
)

# The customer's deadline (6.2.8: corrective and preventive actions "within the customer's
# deadline") runs until Sales has answered; these states still owe the answer.
DEADLINE_RUNS: frozenset[S] = frozenset({S.NEW, S.ASSIGNED, S.ANALYSED, S.MEASURES_TAKEN, S.VERIFIED})
# Who may set or move it: the people who agree it with the customer or own the CAPA.
DEADLINE_SETTERS: frozenset[R] = frozenset({R.APPROVER, R.SALES, R.QUALITY})


def check(
    action: Action,
    state: S,
    actor: Actor,
    case_department_id: int | None,
    severity: Severity | None = None,
    via_8d: bool = False,
) -> Transition:
    """Return the transition, or raise the error a person understands. `severity` given, a
    high or critical case takes the analysis, measures and verification only from its 8D."""
    transition = TRANSITIONS[action]
    doing = label("action", action, "zh")  # the step as a Chinese reader knows it
    if action in ONLY_VIA_8D and not via_8d:
        raise IllegalTransition(
            f"{action} is taken by the 8D, when the customer sends it back", zh=f"“{doing}”由 8D 在客户退回时执行"
        )
    if action in EIGHT_D_ACTIONS and severity in EIGHT_D_SEVERITIES and not via_8d:
        raise IllegalTransition(
            f"a {severity} case is analysed, acted on and verified through its 8D (D4, D6, D7), not by {action}",
            zh=f"{label('severity', severity, 'zh')}严重度的案件须通过 8D（D4、D6、D7）进行分析、采取措施和验证，不能通过“{doing}”",
        )
    if state not in transition.sources:
        allowed = ", ".join(sorted(transition.sources))
        raise IllegalTransition(
            f"cannot {action} a case in state '{state}' (allowed from: {allowed})",
            zh=f"不能对状态为“{label('state', state, 'zh')}”（{state}）的案件执行“{doing}”；"
            f"允许的状态：{'、'.join(label('state', s, 'zh') for s in sorted(transition.sources))}",
        )
    granted = transition.roles & actor.roles
    if not granted:
        needed = " or ".join(sorted(transition.roles))
        raise Forbidden(
            f"{action} needs the role {needed}",
            zh=f"“{doing}”需要以下角色之一：{'、'.join(label('role', r, 'zh') for r in sorted(transition.roles))}",
        )
    if transition.own_department and granted == {R.DEPARTMENT} and actor.department_id != case_department_id:
        raise Forbidden(f"{action}: this case belongs to another department", zh=f"“{doing}”：此案件属于其他部门")
    return transition


def allowed_actions(
    state: S, actor: Actor, case_department_id: int | None, severity: Severity | None = None
) -> list[Action]:
    """What this actor may do now (the console shows these as buttons)."""
    result = []
    for action in TRANSITIONS:
        try:
            check(action, state, actor, case_department_id, severity)
        except (Forbidden, IllegalTransition):
            continue
        result.append(action)
    return result
