"""The OpenAPI part of the cases themselves (merged in by openapi.py): the list and its
filters, a case's page, its attachments and messages, and the workflow steps, whose bodies
come from the step table (kefu/web/api/cases.py)."""

from __future__ import annotations

from cases.domain.enums import CaseState, CaseType, Severity, Speaker
from cases.queries.keyset import CURSOR_PATTERN, DEFAULT_SORT, SORTS
from kefu.web.api import openapi_eightd
from kefu.web.api.cases import STEPS, Field
from kefu.web.api.openapi_blocks import (
    FILLED,
    ID,
    INT,
    OPT_INT,
    OPT_STR,
    OPT_TIME,
    PAGING,
    REFERENCE,
    STR,
    TEXT,
    TIME,
    Doc,
    choice,
    json_doc,
    nullable,
    obj,
    operation,
    param,
    ref,
)

# received_from / received_to: a day in the company's time zone, or an instant with an offset
INSTANT: Doc = {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]}


def _step_field(f: Field) -> Doc:
    """Required texts must say something (the service refuses a blank one); optional ones may
    be empty or null (text_field reads both as not given)."""
    if f.choices:
        return choice(list(f.choices), blank=not f.required)
    return FILLED if f.required else nullable(TEXT)


def _step_paths() -> Doc:
    paths: Doc = {}
    for step in STEPS:
        body = obj(
            {f.name: {**_step_field(f), "description": f.description} for f in step.fields},
            [f.name for f in step.fields if f.required],
            additionalProperties=False,
        )
        paths[f"/api/v1/cases/{{reference}}/{step.segment}"] = {
            "post": operation(
                step.name,
                step.summary,
                {"200": json_doc(ref("StepResult"), "The step was taken; the case's new state.")},
                "400",
                "403",
                "404",
                "409",
                "422",
                parameters=[REFERENCE],
                body=body,
                tag="workflow",
            )
        }
    return paths


def schemas() -> Doc:
    return {
        "CaseSummary": obj(
            {
                "reference": {"type": "string", "examples": ["FB-2026-000123"]},
                "type": {"enum": [t.value for t in CaseType]},
                "channel": STR,
                "state": {"enum": [s.value for s in CaseState]},
                "severity": {"enum": [s.value for s in Severity]},
                "subject": STR,
                "part_number": OPT_STR,
                "customer_id": INT,
                "customer_name": STR,
                "department": {"type": ["string", "null"], "description": "department code; null before approval"},
                "received_at": TIME,
                "updated_at": TIME,
                "customer_deadline": OPT_TIME,
            }
        ),
        "CaseList": obj(
            {
                "items": {"type": "array", "items": ref("CaseSummary")},
                "total": {"type": "integer", "description": "all matching cases, ignoring limit/offset/cursor"},
                "sort": {"enum": list(SORTS), "description": "the order of the items"},
                "next_cursor": {
                    "type": ["string", "null"],
                    "description": "pass as 'cursor' (same sort and filters) for the next page; null on the last page",
                },
            }
        ),
        "AttachmentInfo": obj(
            {
                "id": INT,
                "filename": STR,
                "content_type": {"type": "string", "description": "the type the sender declared"},
                "sniffed_type": {
                    "type": ["string", "null"],
                    "description": "the type the bytes say (null: not known, or stored before kefu sniffed)",
                },
                "type_mismatch": {
                    "type": "boolean",
                    "description": "the bytes disagree with the declared type or the file name (a PDF that is an "
                    "executable): open with care",
                },
                "size": INT,
                "pages": {
                    "type": ["integer", "null"],
                    "description": "pages of a fax or scanned letter, every one read by OCR (null: not read or unknown)",
                },
                "url": {"type": "string", "description": "download path (always as a file)"},
            }
        ),
        "Message": obj(
            {
                "id": INT,
                "direction": {"enum": ["in", "out", "note"]},
                "channel": STR,
                "message_id": OPT_STR,
                "sender": STR,
                "author": {"type": ["string", "null"], "description": "staff username, for out and note"},
                "subject": STR,
                "body": STR,
                "new_text": {"type": "string", "description": "the text above any quotation"},
                "has_html": {"type": "boolean", "description": "an HTML part was stored (sanitised)"},
                "html_url": {
                    "type": ["string", "null"],
                    "description": "download path of the sanitised HTML: always as a file, never shown inline",
                },
                "is_automatic": {"type": "boolean"},
                "created_at": TIME,
                "speaker": {
                    "enum": [s.value for s in Speaker],
                    "description": "who wrote it: the customer, staff, or a third party (flagged; rates nothing)",
                },
                "possible_duplicate": {
                    "type": "boolean",
                    "description": "the same Message-ID as an earlier message but other content: joined to "
                    "that message's case for a person to judge",
                },
                "forwarded": {
                    "oneOf": [
                        {"type": "null"},
                        obj({"sender": STR, "sender_name": STR, "subject": STR, "text": STR}),
                    ],
                    "description": "a mail forwarded inside this one (an enclosed message or an inline forward)",
                },
                "attachments": {"type": "array", "items": ref("AttachmentInfo")},
            }
        ),
        "HistoryEntry": obj(
            {
                "id": INT,
                "at": TIME,
                "actor": STR,
                "action": STR,
                "from_state": OPT_STR,
                "to_state": OPT_STR,
                "changes": {
                    "type": "object",
                    "description": "field -> [before, after]",
                    "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2},
                },
                "note": STR,
            }
        ),
        "Rating": obj(
            {
                "rating": {"enum": ["satisfied", "neutral", "unsatisfied", "no_response"]},
                "score": OPT_INT,
                "channel": STR,
                "source": {"enum": ["customer", "staff", "timer", "backfill"]},
                "recorded_by": OPT_STR,
                "matched": STR,
                "note": STR,
                "at": TIME,
            }
        ),
        "CaseDetail": {
            "allOf": [
                ref("CaseSummary"),
                obj(
                    {
                        "description": STR,
                        "batch": OPT_STR,
                        "quantity": OPT_INT,
                        "vehicle": OPT_STR,
                        "reply_channel": STR,
                        "language": STR,
                        "contact": obj({"id": INT, "name": STR}),
                        "linked_case": OPT_STR,
                        "created_at": TIME,
                        "no_action_reason": OPT_STR,
                        "analysis": OPT_STR,
                        "measures": OPT_STR,
                        "verification": OPT_STR,
                        "rating": OPT_STR,
                        "rating_score": OPT_INT,
                        "satisfaction_requested_at": OPT_TIME,
                        "reminder_sent_at": OPT_TIME,
                        "closed_at": OPT_TIME,
                        "reopen_count": INT,
                        "ratings": {
                            "type": "array",
                            "items": ref("Rating"),
                            "description": "every satisfaction rating the case was given, also those before a reopen",
                        },
                        "version": INT,
                        "messages": {"type": "array", "items": ref("Message")},
                        "history": {"type": "array", "items": ref("HistoryEntry")},
                        "deliveries": {
                            "type": "array",
                            "items": ref("Delivery"),
                            "description": "the case's notices, to the customer and to staff, and what became of them",
                        },
                        "due_steps": {
                            "type": "array",
                            "items": ref("DueStep"),
                            "description": "the agreed steps (first answer, containment, root cause, closure), "
                            "when each is due and whether it is done or overdue (docs/quality.md)",
                        },
                        "bounced_addresses": {
                            "type": "array",
                            "items": ref("BouncedAddress"),
                            "description": "the contact's addresses a notice bounced from for good: no customer "
                            "notice goes there until cleared (POST /api/v1/identities/{identity_id}/clear-bounce)",
                        },
                        **openapi_eightd.case_detail_fields(),
                        "allowed_actions": {
                            "type": "array",
                            "items": {"enum": sorted({s.segment for s in STEPS if s.action})},
                            "description": "workflow steps the caller may take now, named as their routes: "
                            "each is a POST to /api/v1/cases/{reference}/<step>",
                        },
                    }
                ),
            ]
        },
        "Delivery": obj(
            {
                "id": INT,
                "audience": {"enum": ["customer", "staff"]},
                "template": STR,
                "channel": STR,
                "recipient": STR,
                "status": {"enum": ["pending", "sent", "dead", "suppressed"]},
                "attempts": INT,
                "created_at": TIME,
                "sent_at": OPT_TIME,
                "last_error": OPT_STR,
                "dsn": {
                    "oneOf": [
                        {"type": "null"},
                        obj({"action": STR, "status": STR, "diagnostic": OPT_STR, "at": TIME}),
                    ],
                    "description": "what a delivery status notification (bounce, RFC 3464) said: action "
                    "failed or delayed, RFC 3463 status such as 5.1.1 or 4.4.1",
                },
            }
        ),
        "BouncedAddress": obj({"identity_id": INT, "kind": STR, "value": STR, "status": OPT_STR, "bounced_at": TIME}),
        "StepResult": obj({"reference": STR, "state": {"enum": [s.value for s in CaseState]}}),
    }


def paths() -> Doc:
    return {
        "/api/v1/cases": {
            "get": operation(
                "list_cases",
                "List and filter cases, newest first",
                {"200": json_doc(ref("CaseList"), "One page of cases and the total.")},
                "400",
                "403",
                "422",
                parameters=[
                    param("state", "query", {"enum": [s.value for s in CaseState]}, "only cases in this state"),
                    param("department", "query", TEXT, "a department code"),
                    param("type", "query", {"enum": [t.value for t in CaseType]}, "the case type"),
                    param("customer_id", "query", ID, "the customer"),
                    param(
                        "q",
                        "query",
                        TEXT,
                        "words to find, Chinese or English, in the reference, subject, description, part "
                        "number, messages and replies, or the text read from a fax or scanned letter; every "
                        "word must be found (Chinese as overlapping two-character pieces: 异响 finds "
                        "刹车片异响; a Latin word also as a prefix; case-insensitive)",
                    ),
                    param(
                        "sort",
                        "query",
                        {"enum": list(SORTS), "default": DEFAULT_SORT},
                        "order, a leading '-' for descending: received_at, updated_at (times); reference; "
                        "customer_deadline (cases without a deadline come last either way); severity (by "
                        "grade: low < medium < high < critical, so -severity puts critical first); state (by "
                        "the workflow: new, assigned, analysed, measures_taken, verified, "
                        "awaiting_satisfaction, closed, no_action). Ties go by case id, in the same "
                        "direction; every order pages by cursor from its own index",
                    ),
                    param(
                        "cursor",
                        "query",
                        {"type": "string", "pattern": CURSOR_PATTERN},
                        "the next_cursor of the previous page (keyset paging: fast at any depth); not with "
                        "offset; one of this shape that this list did not give out (or gave for another sort) "
                        "is a 422",
                    ),
                    param(
                        "received_from",
                        "query",
                        INSTANT,
                        "received at or after: a date (company time zone) or an ISO 8601 time with offset",
                    ),
                    param(
                        "received_to", "query", INSTANT, "received before: a time, or a date (that whole day included)"
                    ),
                    *PAGING,
                ],
            )
        },
        "/api/v1/cases/{reference}": {
            "get": operation(
                "get_case",
                "One case with messages, history and allowed actions",
                {"200": json_doc(ref("CaseDetail"), "The case.")},
                "403",
                "404",
                parameters=[REFERENCE],
            )
        },
        "/api/v1/cases/{reference}/attachments/{attachment_id}": {
            "get": operation(
                "get_attachment",
                "Download an attachment (always as a file, never rendered)",
                {
                    "200": {
                        "description": "The bytes, as application/octet-stream with Content-Disposition: attachment "
                        "and X-Content-Type-Options: nosniff.",
                        "content": {
                            "application/octet-stream": {
                                "schema": {"type": "string", "contentMediaType": "application/octet-stream"}
                            }
                        },
                    }
                },
                "400",
                "403",
                "404",
                parameters=[REFERENCE, param("attachment_id", "path", ID, "an attachment id of the case")],
            )
        },
        "/api/v1/cases/{reference}/messages/{message_id}/html": {
            "get": operation(
                "get_message_html",
                "Download the sanitised HTML of a message (always as a file, never rendered)",
                {
                    "200": {
                        "description": "The HTML, as application/octet-stream with Content-Disposition: attachment, "
                        "X-Content-Type-Options: nosniff and a sandboxing Content-Security-Policy.",
                        "content": {
                            "application/octet-stream": {
                                "schema": {"type": "string", "contentMediaType": "application/octet-stream"}
                            }
                        },
                    }
                },
                "400",
                "403",
                "404",
                parameters=[REFERENCE, param("message_id", "path", ID, "a message id of the case")],
            )
        },
        **_step_paths(),
    }
