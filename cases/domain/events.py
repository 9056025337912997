"""Domain events the case service writes to the outbox, in the same transaction as the change.

notifications/routing.py maps each kind to the notices it causes (who hears what, how).
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    CASE_OPENED = "case_opened"
    CASE_APPROVED = "case_approved"
    NO_ACTION_DECIDED = "no_action_decided"
    CASE_REASSIGNED = "case_reassigned"
    ANALYSIS_RECORDED = "analysis_recorded"
    MEASURES_RECORDED = "measures_recorded"
    CASE_VERIFIED = "case_verified"
    VERIFICATION_REJECTED = "verification_rejected"
    CUSTOMER_REPLIED_TO = "customer_replied_to"  # Sales' reply + satisfaction request
    CUSTOMER_MESSAGE = "customer_message"  # the customer wrote on an existing case
    RATING_UNCLEAR = "rating_unclear"
    CASE_RATED = "case_rated"
    CASE_REOPENED = "case_reopened"
    SATISFACTION_REMINDER = "satisfaction_reminder"
    CLOSED_NO_RESPONSE = "closed_no_response"
    DEADLINE_SET = "deadline_set"
    DEADLINE_NEAR = "deadline_near"
    DEADLINE_PASSED = "deadline_passed"
    CALLBACK_NEEDED = "callback_needed"  # no way to reach the customer: Sales call back
    ADDRESS_BOUNCED = "address_bounced"  # a notice bounced for good: the address is marked
    # The quality room (cases/quality/, docs/quality.md)
    DUE_STEP_NEAR = "due_step_near"  # an agreed step (first answer, containment, ...) falls due soon
    DUE_STEP_PASSED = "due_step_passed"  # ... and has passed unanswered: the approvers hear too
    WARRANTY_EXPLAINED = "warranty_explained"  # not ours / no trouble found: told the customer, with evidence
    WARRANTY_OURS = "warranty_ours"  # our cause: the corrective action starts
    SERVICE_PLANNED = "service_planned"  # on-site service planned and dispatched
    SERVICE_REPORTED = "service_reported"  # the engineer filed the report: the management representative reviews
    SERVICE_CONFIRMATION_REQUESTED = "service_confirmation_requested"  # reviewed: the customer confirms
    SERVICE_CONFIRMED = "service_confirmed"  # the customer's representative answered on the report
    REPEAT_FOUND = "repeat_found"  # same part and failure mode as an open or recent case
    REVIEW_TEAM_FORMED = "review_team_formed"  # a high or critical case has its review team (6.3.3)
    EIGHTD_RETURNED = "eightd_returned"  # the customer sent the 8D back to a step, with a comment
    # Field data (cases/field/, docs/field-data.md)
    EARLY_WARNING = "early_warning"  # a part x failure mode rose above its expected level: 6.5.2 e
    # Reports (cases/reports/, docs/reports.md): about no case, for staff only
    REPORT_DUE = "report_due"  # a quarter's marketing summary report is due and not issued (6.5.4)
