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
