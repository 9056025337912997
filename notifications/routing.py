"""Who hears of what: one table from domain event to notices (audience, template, recipients).

Adding a notice is adding a row; the fan-out engine in notifications/fanout.py is generic.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cases.domain.events import EventKind as E


class To(StrEnum):
    CUSTOMER = "customer"  # the case's contact, on the reply channel the customer asked for
    APPROVERS = "approvers"  # 总经理 / 管理者代表
    DEPARTMENT = "department"  # members of the case's responsible department
    QUALITY = "quality"
    SALES = "sales"
    # Members of a named department, whatever the case's department (early warning, 6.5.2 e)
    TECHNICAL_DEVELOPMENT = "technical_development"
    PRODUCTION_EQUIPMENT = "production_equipment"


@dataclass(frozen=True, slots=True)
class Notice:
    to: To
    template: str  # template event name under notifications/templates/<audience>/
    # Customer notices about a case opened by automatic mail (auto-submitted, bulk, list,
    # bounce) are not sent: never auto-answer automatic mail (RFC 3834).
    needs_auto_reply: bool = False

    @property
    def audience(self) -> str:
        return "customer" if self.to is To.CUSTOMER else "staff"


ROUTES: dict[E, tuple[Notice, ...]] = {
    E.CASE_OPENED: (Notice(To.CUSTOMER, "case_opened", needs_auto_reply=True), Notice(To.APPROVERS, "approval_needed")),
    E.CASE_APPROVED: (Notice(To.CUSTOMER, "case_assigned"), Notice(To.DEPARTMENT, "case_assigned")),
    E.NO_ACTION_DECIDED: (Notice(To.CUSTOMER, "no_action"),),
    E.CASE_REASSIGNED: (Notice(To.DEPARTMENT, "case_assigned"),),
    E.ANALYSIS_RECORDED: (),
    E.MEASURES_RECORDED: (Notice(To.QUALITY, "verification_needed"),),
    E.VERIFICATION_REJECTED: (Notice(To.DEPARTMENT, "verification_rejected"),),
    E.CASE_VERIFIED: (Notice(To.SALES, "reply_needed"),),
    E.CUSTOMER_REPLIED_TO: (Notice(To.CUSTOMER, "reply"),),
    E.CUSTOMER_MESSAGE: (Notice(To.DEPARTMENT, "customer_message"), Notice(To.SALES, "customer_message")),
    E.RATING_UNCLEAR: (Notice(To.SALES, "customer_message"),),
    E.CASE_RATED: (Notice(To.CUSTOMER, "case_closed"), Notice(To.SALES, "case_closed")),
    E.CASE_REOPENED: (
        Notice(To.CUSTOMER, "case_reopened"),
        Notice(To.DEPARTMENT, "case_unsatisfied"),
        Notice(To.SALES, "case_unsatisfied"),
    ),
    E.SATISFACTION_REMINDER: (Notice(To.CUSTOMER, "satisfaction_reminder"),),
    E.CLOSED_NO_RESPONSE: (Notice(To.SALES, "case_closed"),),
    E.DEADLINE_SET: (),
    E.DEADLINE_NEAR: (Notice(To.DEPARTMENT, "deadline_near"), Notice(To.SALES, "deadline_near")),
    E.DEADLINE_PASSED: (
        Notice(To.DEPARTMENT, "deadline_passed"),
        Notice(To.APPROVERS, "deadline_passed"),
        Notice(To.SALES, "deadline_passed"),
    ),
    E.CALLBACK_NEEDED: (Notice(To.SALES, "callback_needed"),),
    E.ADDRESS_BOUNCED: (Notice(To.SALES, "address_bounced"),),
    # The quality room (docs/quality.md). The owner of a step is the case's department (the
    # approvers while it has none); Sales answers the customer.
    E.DUE_STEP_NEAR: (Notice(To.DEPARTMENT, "due_step_near"), Notice(To.SALES, "due_step_near")),
    E.DUE_STEP_PASSED: (
        Notice(To.DEPARTMENT, "due_step_passed"),
        Notice(To.APPROVERS, "due_step_passed"),
        Notice(To.SALES, "due_step_passed"),
    ),
    E.WARRANTY_EXPLAINED: (Notice(To.CUSTOMER, "warranty_explanation"), Notice(To.SALES, "warranty_decided")),
    E.WARRANTY_OURS: (Notice(To.DEPARTMENT, "warranty_ours"), Notice(To.QUALITY, "warranty_ours")),
    E.SERVICE_PLANNED: (Notice(To.DEPARTMENT, "service_planned"), Notice(To.SALES, "service_planned")),
    E.SERVICE_REPORTED: (Notice(To.APPROVERS, "service_review_needed"),),
    E.SERVICE_CONFIRMATION_REQUESTED: (Notice(To.CUSTOMER, "service_confirmation"),),
    E.SERVICE_CONFIRMED: (Notice(To.SALES, "service_confirmed"), Notice(To.DEPARTMENT, "service_confirmed")),
    E.REPEAT_FOUND: (Notice(To.DEPARTMENT, "repeat_found"), Notice(To.QUALITY, "repeat_found")),
    E.REVIEW_TEAM_FORMED: (Notice(To.DEPARTMENT, "review_team_formed"), Notice(To.QUALITY, "review_team_formed")),
    E.EIGHTD_RETURNED: (
        Notice(To.DEPARTMENT, "eightd_returned"),
        Notice(To.QUALITY, "eightd_returned"),
        Notice(To.SALES, "eightd_returned"),
    ),
    # Field data (docs/field-data.md): an early-warning alert goes to Sales (who runs the
    # system), Quality, Technical Development and Production Equipment (procedure 6.5.2 e).
    E.EARLY_WARNING: (
        Notice(To.SALES, "early_warning"),
        Notice(To.QUALITY, "early_warning"),
        Notice(To.TECHNICAL_DEVELOPMENT, "early_warning"),
        Notice(To.PRODUCTION_EQUIPMENT, "early_warning"),
    ),
    # Reports (docs/reports.md): about no case, so only to staff audiences that are not the
    # case's own (Sales, Quality, Approvers, a named department): a quarter's marketing summary
    # report is due and not issued (6.5.4); Sales run it.
    E.REPORT_DUE: (Notice(To.SALES, "report_due"),),
}

# The audiences a notice about no case can reach: nobody's customer, no case's department.
CASELESS: frozenset[To] = frozenset(set(To) - {To.CUSTOMER, To.DEPARTMENT})
