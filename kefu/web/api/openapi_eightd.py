"""The OpenAPI part of the form's corrections, the review team, the 8D and its document, and the
severity and failure-mode tables (merged in by openapi.py; docs/quality.md)."""

from __future__ import annotations

from cases.domain.enums import CaseState, CaseType, FailureCategory, Severity
from cases.quality.eightd_steps import D
from kefu.web.api.openapi_blocks import (
    FILLED,
    INT,
    OPT_STR,
    OPT_TIME,
    REFERENCE,
    STR,
    TEXT,
    Doc,
    body_of,
    json_doc,
    nullable,
    obj,
    operation,
    param,
    ref,
)
from kefu.web.api.support import ID_MAX, ID_MIN, MAX_QUANTITY

STEP = param("step", "path", {"enum": [d.value for d in D]}, "the 8D step, D0 ... D8")
READ_ERRORS = ("400", "403", "404")
WRITE_ERRORS = ("400", "403", "404", "409", "422")
STATE = {"enum": [s.value for s in CaseState]}
_ANY_OBJECT: Doc = {"type": "object"}


def schemas() -> Doc:
    link = obj({"reference": STR, "part_number": STR, "failure_mode": STR})
    member = obj({"name": STR, "department": STR, "leader": {"type": "boolean"}})
    version = obj(
        {
            "version": INT,
            "report_revision": INT,
            "content": {**_ANY_OBJECT, "description": "the step's fields (docs/quality.md, 'The 8D')"},
            "edited_by": STR,
            "edited_at": {"type": "string", "format": "date-time"},
            "signed_by": OPT_STR,
            "signed_role": OPT_STR,
            "signed_at": OPT_TIME,
            "customer_comment": OPT_STR,
        }
    )
    step = obj(
        {
            "step": {"enum": [d.value for d in D]},
            "title_en": STR,
            "title_zh": STR,
            "current": {"anyOf": [ref("EightDVersion"), {"type": "null"}]},
            "earlier": {"type": "array", "items": ref("EightDVersion"), "description": "earlier versions, kept"},
        }
    )
    report = obj(
        {
            "reference": STR,
            "subject": STR,
            "state": STATE,
            "severity": {"enum": [s.value for s in Severity]},
            "customer_name": STR,
            "contact_name": STR,
            "department": OPT_STR,
            "part_number": OPT_STR,
            "batch": OPT_STR,
            "quantity": {"type": ["integer", "null"]},
            "failure_mode": OPT_STR,
            "received_at": {"type": "string", "format": "date-time"},
            "revision": INT,
            "opened_by": STR,
            "opened_at": {"type": "string", "format": "date-time"},
            "returned_step": OPT_STR,
            "customer_comment": OPT_STR,
            "returned_at": OPT_TIME,
            "team": {"type": "array", "items": ref("ReviewTeamMember")},
            "steps": {"type": "array", "items": ref("EightDStep")},
            "next_step": {"type": ["string", "null"], "description": "the first step not yet signed"},
        }
    )
    return {
        "CaseLink": link,
        "ReviewTeamMember": member,
        "EightDVersion": version,
        "EightDStep": step,
        "EightD": report,
        "FormCorrected": obj(
            {
                "reference": STR,
                "state": STATE,
                "changes": {"type": "object", "description": "field -> [before, after]"},
                "repeat_of": {
                    "type": "array",
                    "items": STR,
                    "description": "earlier cases this one repeats, found now",
                },
            }
        ),
        "EightDStepResult": obj({"reference": STR, "step": STR, "version": INT}),
        "EightDSigned": obj({"reference": STR, "state": STATE, "step": STR, "version": INT}),
        "FailureMode": obj({"code": STR, "name_zh": STR, "name_en": STR, "active": {"type": "boolean"}}),
        "FailureModeList": obj({"items": {"type": "array", "items": ref("FailureMode")}}),
        "SeverityRule": obj({"category": STR, "grade": STR}),
        "SeverityRules": obj(
            {"items": {"type": "array", "items": ref("SeverityRule")}, "raisers": {"type": "array", "items": STR}}
        ),
    }


def case_detail_fields() -> Doc:
    """What the case's detail (GET /cases/{reference}) shows of the quality room's form."""
    return {
        "failure_category": {"enum": [c.value for c in FailureCategory] + [None]},
        "failure_mode": OPT_STR,
        "field_failure": {"type": "boolean"},
        "severity_by_approver": {"type": "boolean", "description": "the approver chose the severity"},
        "routed_department": {
            **OPT_STR,
            "description": "the department the routing rule table proposes for the failure category",
        },
        "repeat_of": {"type": "array", "items": ref("CaseLink"), "description": "earlier cases this one repeats"},
        "repeated_by": {"type": "array", "items": ref("CaseLink"), "description": "later cases repeating this one"},
        "review_team": {"type": "array", "items": ref("ReviewTeamMember")},
    }


def correct_case() -> Doc:
    """PATCH /cases/{reference}: merged into that path's item by openapi.py."""
    ident = {"type": "integer", "minimum": ID_MIN, "maximum": ID_MAX}
    return operation(
        "correct_case",
        "Correct the feedback form by role (each change in the history with before and after); the "
        "failure category, quantity and field failure re-derive the severity unless the approver chose it; "
        "a part number and failure mode look for repeats",
        {"200": json_doc(ref("FormCorrected"), "Corrected.")},
        *WRITE_ERRORS,
        parameters=[REFERENCE],
        body={
            **body_of(
                {
                    "type": {"enum": [t.value for t in CaseType]},
                    "severity": {"enum": [s.value for s in Severity], "description": "approver only: wins"},
                    "description": TEXT,
                    "part_number": nullable(TEXT),
                    "batch": nullable(TEXT),
                    "vehicle": nullable(TEXT),
                    "failure_category": {"enum": [c.value for c in FailureCategory] + [None]},
                    "failure_mode": {**nullable(TEXT), "description": "a code of GET /api/v1/failure-modes"},
                    "quantity": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_QUANTITY},
                    "field_failure": {"type": "boolean"},
                    "customer_id": ident,
                    "contact_id": ident,
                },
                [],
            ),
            "minProperties": 1,
        },
        tag="quality",
    )


def paths() -> Doc:
    base = "/api/v1/cases/{reference}/8d"
    team_member = body_of(
        {"name": FILLED, "department": FILLED, "leader": {"type": "boolean"}, "username": nullable(TEXT)},
        ["name", "department"],
    )
    return {
        "/api/v1/cases/{reference}/review-team": {
            "put": operation(
                "set_review_team",
                "Name the review team (approver or quality): people of at least two departments, one leader; "
                "their departments may then read the case",
                {"200": json_doc(ref("StepResult"), "Set.")},
                *WRITE_ERRORS,
                parameters=[REFERENCE],
                body=body_of(
                    {"members": {"type": "array", "items": team_member, "minItems": 1, "maxItems": 30}}, ["members"]
                ),
                tag="quality",
            )
        },
        base: {
            "get": operation(
                "get_eightd",
                "The case's 8D: its team, each step's current and earlier versions, the next step",
                {"200": json_doc(ref("EightD"), "The 8D.")},
                *READ_ERRORS,
                parameters=[REFERENCE],
                tag="quality",
            )
        },
        base + "/steps/{step}": {
            "put": operation(
                "record_eightd_step",
                "Write a step (the responsible department or quality), once the step before it is signed; "
                "a signed step keeps its version and gets a new one",
                {"200": json_doc(ref("EightDStepResult"), "Recorded.")},
                *WRITE_ERRORS,
                parameters=[REFERENCE, STEP],
                body=body_of(
                    {"content": {**_ANY_OBJECT, "description": "the step's fields (docs/quality.md)"}}, ["content"]
                ),
                tag="quality",
            )
        },
        base + "/steps/{step}/sign": {
            "post": operation(
                "sign_eightd_step",
                "Sign a step: D0-D6 the responsible department or quality, D7 quality (the verification), "
                "D8 quality or approver; D4, D6 and D7 take analyse, measures and verify",
                {"200": json_doc(ref("EightDSigned"), "Signed; the case's state.")},
                *WRITE_ERRORS,
                parameters=[REFERENCE, STEP],
                body=body_of({}, []),
                tag="quality",
            )
        },
        base + "/return": {
            "post": operation(
                "return_eightd",
                "The customer rejects the 8D at a step, with their comment (recorded by sales or quality): "
                "a new revision from that step on",
                {"200": json_doc(ref("StepResult"), "Returned; the case's state.")},
                *WRITE_ERRORS,
                parameters=[REFERENCE],
                body=body_of({"step": {"enum": [d.value for d in D]}, "comment": FILLED}, ["step", "comment"]),
                tag="quality",
            )
        },
        base + "/document": {
            "get": operation(
                "eightd_document",
                "The 8D as a document: PDF (default) or HTML, Chinese or English, with the supplier's header",
                {
                    "200": {
                        "description": "The document.",
                        "content": {
                            "application/pdf": {"schema": {"type": "string", "contentMediaType": "application/pdf"}},
                            "text/html": {"schema": {"type": "string"}},
                        },
                    }
                },
                *READ_ERRORS,
                parameters=[
                    REFERENCE,
                    param("format", "query", {"enum": ["pdf", "html"]}, "pdf (default) or html"),
                    param("language", "query", {"enum": ["zh", "en"]}, "the document's language (default zh)"),
                ],
                tag="quality",
            )
        },
        "/api/v1/failure-modes": {
            "get": operation(
                "list_failure_modes",
                "The managed failure-mode list (zh / en)",
                {"200": json_doc(ref("FailureModeList"), "The list.")},
                "403",
                tag="quality",
            )
        },
        "/api/v1/failure-modes/{code}": {
            "put": operation(
                "put_failure_mode",
                "Add or change a failure mode (quality or admin); retire one with active false",
                {"200": json_doc(ref("FailureMode"), "Kept.")},
                "400",
                "403",
                "422",
                parameters=[
                    param("code", "path", {**TEXT, "minLength": 1}, "capital letters, digits, - and _ (NOISE-BRAKE)")
                ],
                body=body_of(
                    {"name_zh": FILLED, "name_en": FILLED, "active": {"type": "boolean"}}, ["name_zh", "name_en"]
                ),
                tag="quality",
            )
        },
        "/api/v1/severity-rules": {
            "get": operation(
                "list_severity_rules",
                "The table from failure category to severity, and the raisers",
                {"200": json_doc(ref("SeverityRules"), "The table.")},
                "403",
                tag="quality",
            )
        },
        "/api/v1/severity-rules/{category}": {
            "put": operation(
                "put_severity_rule",
                "Change the grade of a failure category (admin or approver)",
                {"200": json_doc(ref("SeverityRule"), "Changed.")},
                "400",
                "403",
                "422",
                parameters=[
                    param("category", "path", {"enum": [c.value for c in FailureCategory]}, "a failure category")
                ],
                body=body_of({"grade": {"enum": [s.value for s in Severity]}}, ["grade"]),
                tag="quality",
            )
        },
    }
