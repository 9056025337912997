"""The on-site service report's life as one table (procedure 6.2.7, 6.4, 6.3.6).

planned (plan and dispatch) -> reported (the engineer's report) -> reviewed (the management
representative) -> confirmed (the customer's representative: by replying to the report's own
notice, or on paper, recorded by staff with the scan). An unsatisfied answer sends it back to
reported, for another visit or report, and the review again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cases.domain.actors import Actor
from cases.domain.enums import Role as R
from cases.domain.errors import Forbidden, IllegalTransition


class ReportState(StrEnum):
    PLANNED = "planned"
    REPORTED = "reported"
    REVIEWED = "reviewed"
    CONFIRMED = "confirmed"


class ReportAction(StrEnum):
    FILE = "file_report"  # the service engineer files the report (6.4.3)
    REVIEW = "review"  # the management representative reviews it; the customer is asked to confirm
    CONFIRM_BY_REPLY = "confirm_by_reply"  # the customer's representative answers the report's notice
    CONFIRM_ON_PAPER = "confirm_on_paper"  # staff record a confirmation signed on paper, with the scan
    DISPUTE = "dispute"  # the customer is not satisfied with the service: back to the engineer


@dataclass(frozen=True, slots=True)
class ReportTransition:
    sources: frozenset[ReportState]
    target: ReportState
    roles: frozenset[R]


def _t(sources: set[ReportState], target: ReportState, roles: set[R]) -> ReportTransition:
    return ReportTransition(frozenset(sources), target, frozenset(roles))


S = ReportState
PLANNERS: frozenset[R] = frozenset({R.SALES, R.QUALITY, R.DEPARTMENT, R.APPROVER})  # 6.2.7: Sales convenes
TRANSITIONS: dict[ReportAction, ReportTransition] = {
    ReportAction.FILE: _t({S.PLANNED, S.REPORTED}, S.REPORTED, {R.DEPARTMENT, R.QUALITY, R.SALES}),
    ReportAction.REVIEW: _t({S.REPORTED}, S.REVIEWED, {R.APPROVER}),
    ReportAction.CONFIRM_BY_REPLY: _t({S.REVIEWED}, S.CONFIRMED, {R.SYSTEM}),
    ReportAction.CONFIRM_ON_PAPER: _t({S.REVIEWED}, S.CONFIRMED, {R.SALES, R.QUALITY}),
    ReportAction.DISPUTE: _t({S.REVIEWED}, S.REPORTED, {R.SYSTEM, R.SALES, R.QUALITY}),
}


def check(action: ReportAction, state: str, actor: Actor) -> ReportTransition:
    transition = TRANSITIONS[action]
    if state not in transition.sources:
        allowed = ", ".join(sorted(transition.sources))
        raise IllegalTransition(
            f"cannot {action} a service report that is {state} (allowed from: {allowed})",
            zh=f"服务报告状态为 {state}，不能执行 {action}（允许的状态：{allowed}）",
        )
    if not transition.roles & actor.roles:
        raise Forbidden(
            f"{action} needs the role {' or '.join(sorted(transition.roles))}",
            zh=f"{action} 需要以下角色之一：{'、'.join(sorted(transition.roles))}",
        )
    return transition
