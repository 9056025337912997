"""Who may call what: the API's access policy in one place.

Two rules. (1) `ACCESS`: per route name, the roles that may call it (checked by the auth
middleware on every request, before the handler runs). (2) `scope_for`: which cases a caller
may read or act on; a member of a department sees only that department's cases, everyone
else with a case role sees all. Workflow steps are further checked by CaseService against the
transition table (cases/domain/states.py); this module does not repeat that.
"""

from __future__ import annotations

from enum import Enum

from cases.domain.actors import Actor
from cases.domain.enums import Role
from cases.queries.case_views import EVERYTHING, Scope


class Open(Enum):
    PUBLIC = "public"  # no token needed (health checks, the API description)
    SIGNED_IN = "signed_in"  # any valid token, whatever the roles


Access = frozenset[Role] | Open

# May see every case, whatever its department.
ALL_CASES: frozenset[Role] = frozenset({Role.APPROVER, Role.QUALITY, Role.SALES, Role.ADMIN})
# May read cases at all (department members: their own department's only).
CASE_READERS: frozenset[Role] = ALL_CASES | {Role.DEPARTMENT}
# May look at and re-run held inbound mail and set-aside notification events.
INBOUND_KEEPERS: frozenset[Role] = frozenset({Role.ADMIN, Role.SALES, Role.QUALITY})
# Log calls, letters, visits and surveys; keep the customer archive (Sales, procedure 6.3.1).
SALES_DESK: frozenset[Role] = frozenset({Role.SALES, Role.ADMIN})

# Read the field data, alerts and batch traces: Technical Development and Production Equipment
# are told of alerts (procedure 6.5.2 e), so department members read them too.
FIELD_READERS: frozenset[Role] = ALL_CASES | {Role.DEPARTMENT}
# Run the scan by hand, edit the thresholds.
FIELD_KEEPERS: frozenset[Role] = frozenset({Role.QUALITY, Role.ADMIN})

ACCESS: dict[str, Access] = {
    "health": Open.PUBLIC,
    "openapi": Open.PUBLIC,
    "me": Open.SIGNED_IN,
    "list_departments": CASE_READERS,
    "list_cases": CASE_READERS,
    "get_case": CASE_READERS,
    "get_attachment": CASE_READERS,
    "get_message_html": CASE_READERS,
    # Workflow steps: CaseService decides per step (state first, then role, then department).
    "approve": CASE_READERS,
    "no_action": CASE_READERS,
    "reassign": CASE_READERS,
    "analysis": CASE_READERS,
    "measures": CASE_READERS,
    "verify": CASE_READERS,
    "reject_verification": CASE_READERS,
    "reply": CASE_READERS,
    "record_rating": CASE_READERS,  # sales (cases/domain/states.py)
    "add_note": CASE_READERS,
    "set_deadline": CASE_READERS,  # the service checks DEADLINE_SETTERS (cases/domain/states.py)
    "list_inbound": INBOUND_KEEPERS,
    "rerun_inbound": INBOUND_KEEPERS,
    "list_set_aside": INBOUND_KEEPERS,
    "refan_event": INBOUND_KEEPERS,
    "list_failed_updates": INBOUND_KEEPERS,
    "rerun_update": INBOUND_KEEPERS,
    "log_entry": SALES_DESK,
    "create_customer": SALES_DESK,
    "list_customers": ALL_CASES,
    "get_customer": ALL_CASES,
    "create_contact": SALES_DESK,
    "update_contact": SALES_DESK,
    "add_identity": SALES_DESK,
    "clear_bounce": SALES_DESK,  # Sales are told of a bounce and keep the archive
    "merge": SALES_DESK,
    "unmerge": SALES_DESK,
    "contact_telegram_link": ALL_CASES,  # staff who talk to customers bind their chats
    "my_telegram_link": Open.SIGNED_IN,
    # The quality room: the services check the roles of each step (cases/quality/).
    "list_warranty_parts": CASE_READERS,
    "add_warranty_part": CASE_READERS,  # sales or quality
    "add_warranty_evidence": CASE_READERS,  # quality
    "decide_warranty_part": CASE_READERS,  # quality
    "list_service_reports": CASE_READERS,
    "plan_service": CASE_READERS,  # sales, quality, department or approver
    "file_service_report": CASE_READERS,  # the engineer: department, quality or sales
    "review_service_report": CASE_READERS,  # the management representative (approver)
    "confirm_service_on_paper": CASE_READERS,  # sales or quality record the signed scan
    "service_report_form": CASE_READERS,
    "get_quality_file": CASE_READERS,
    "mark_step_done": CASE_READERS,
    "list_overdue": CASE_READERS,  # department members: their own department's cases
    "get_agreement": ALL_CASES,
    "put_agreement": ALL_CASES,  # sales, approver or admin
    # The procedure's reports (docs/reports.md): read by every case role but department members
    # (they hold every customer's figures); issued by Sales, Quality, approvers, admins.
    "list_reports": ALL_CASES,
    "draft_report": ALL_CASES,
    "get_report_file": ALL_CASES,
    "issue_report": ALL_CASES,  # cases/reports/issued.py ISSUERS: the same roles
    "get_calendar": Open.SIGNED_IN,
    "put_calendar_day": Open.SIGNED_IN,  # approver or admin
    "delete_calendar_day": Open.SIGNED_IN,  # approver or admin
    # The form, the review team and the 8D: cases/quality/form.py and eightd_steps.py decide per
    # field and step; a review team's departments read the case (scope_for).
    "correct_case": CASE_READERS,
    "set_review_team": CASE_READERS,  # approver or quality
    "get_eightd": CASE_READERS,
    "record_eightd_step": CASE_READERS,  # the responsible department or quality
    "sign_eightd_step": CASE_READERS,  # per step: department or quality; D7 quality; D8 quality or approver
    "return_eightd": CASE_READERS,  # sales or quality record the customer's rejection
    "eightd_document": CASE_READERS,
    "list_failure_modes": CASE_READERS,
    "put_failure_mode": CASE_READERS,  # quality or admin
    "list_severity_rules": CASE_READERS,
    "put_severity_rule": CASE_READERS,  # admin or approver
    # The rule tables (cases/rules/tables.py): read by case readers; RuleService checks each
    # table's keepers (severity, routing: admin or approver; intake holds: admin).
    "list_rule_tables": CASE_READERS,
    "get_rule_table": CASE_READERS,
    "put_rule": CASE_READERS,
    # Field data and early warning (docs/field-data.md): the departments an alert concerns
    # read it; the services check who acknowledges (quality, sales, approver) and who edits
    # the thresholds (quality, admin).
    "list_warning_alerts": FIELD_READERS,
    "get_warning_alert": FIELD_READERS,
    "acknowledge_warning_alert": FIELD_READERS,
    "run_warning_scan": FIELD_KEEPERS,
    "list_warning_thresholds": FIELD_READERS,
    "put_warning_threshold": FIELD_KEEPERS,
    "months_in_service": FIELD_READERS,
    "get_batch": FIELD_READERS,  # a recall needs every customer of the batch
}


def scope_for(actor: Actor) -> Scope:
    """The department rule: which cases this caller may see and act on."""
    if actor.roles & ALL_CASES:
        return EVERYTHING
    return Scope(all_departments=False, department_id=actor.department_id)


def describe(access: Access) -> str:
    """For the API description and error messages."""
    if access is Open.PUBLIC:
        return "no authentication"
    if access is Open.SIGNED_IN:
        return "any signed-in user"
    names = sorted(r.value for r in access)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
