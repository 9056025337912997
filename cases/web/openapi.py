"""The OpenAPI 3.1 description of /api/v1, built in code and served at /api/v1/openapi.json.

Each operation's operationId is its route name; the roles shown come from the access table
and the workflow bodies from the step table, so neither can drift from what the server does.
A test checks that every registered route is described here and nothing else.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from cases.enums import CaseState, CaseType, Severity
from cases.models import InboundStatus
from cases.states import Action
from cases.web.api_access import ACCESS, Open, describe
from cases.web import openapi_channels, openapi_telegram
from cases.web.api_cases import STEPS

Doc = dict[str, Any]


def _ref(name: str) -> Doc:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: Doc, required: list[str] | None = None, **extra: Any) -> Doc:
    return {"type": "object", "properties": properties, "required": required or list(properties), **extra}


STR: Doc = {"type": "string"}
INT: Doc = {"type": "integer"}
TIME: Doc = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC"}
OPT_STR: Doc = {"type": ["string", "null"]}
OPT_INT: Doc = {"type": ["integer", "null"]}
OPT_TIME: Doc = {"type": ["string", "null"], "format": "date-time"}

SCHEMAS: Doc = {
    "Error": _obj({"error": _obj({
        "code": {"type": "string", "description": "machine-readable: bad_request, invalid_input, unauthorized, "
                 "forbidden, not_found, illegal_transition, conflict, internal_error, ..."},
        "message": {"type": "string", "description": "a sentence a person understands"},
    })}),
    "Health": _obj({"status": {"enum": ["ok", "unavailable"]}, "database": {"enum": ["ok", "unavailable"]},
                    "backlog": _obj({"inbound_pending": INT, "oldest_pending_seconds": {"type": ["integer", "null"]},
                                     "inbound_quarantined": INT, "notices_pending": INT, "notices_dead": INT},
                                    description="what is waiting; absent when the database does not answer"),
                    "imap": _obj({"state": {"enum": ["starting", "connecting", "running", "reconnecting", "error",
                                                     "stopped"]},
                                  "error": OPT_STR, "mailbox": STR, "mode": {"enum": ["idle", "poll", None]},
                                  "last_check": OPT_STR, "stored": INT, "duplicates": INT, "oversized": INT},
                                 description="only when KEFU_IMAP_URL is set")}, ["status", "database"]),
    "Me": _obj({"username": STR, "display_name": STR, "roles": {"type": "array", "items": STR},
                "department": OPT_STR}),
    "Department": _obj({"code": STR, "name_zh": STR, "name_en": STR}),
    "DepartmentList": _obj({"items": {"type": "array", "items": _ref("Department")}}),
    "CaseSummary": _obj({
        "reference": {"type": "string", "examples": ["FB-2026-000123"]},
        "type": {"enum": [t.value for t in CaseType]}, "channel": STR,
        "state": {"enum": [s.value for s in CaseState]}, "severity": {"enum": [s.value for s in Severity]},
        "subject": STR, "part_number": OPT_STR, "customer_id": INT, "customer_name": STR,
        "department": {"type": ["string", "null"], "description": "department code; null before approval"},
        "received_at": TIME, "updated_at": TIME, "customer_deadline": OPT_TIME,
    }),
    "CaseList": _obj({"items": {"type": "array", "items": _ref("CaseSummary")},
                      "total": {"type": "integer", "description": "all matching cases, ignoring limit/offset"}}),
    "AttachmentInfo": _obj({"id": INT, "filename": STR, "content_type": STR, "size": INT,
                            "url": {"type": "string", "description": "download path (always as a file)"}}),
    "Message": _obj({
        "id": INT, "direction": {"enum": ["in", "out", "note"]}, "channel": STR, "message_id": OPT_STR,
        "sender": STR, "author": {"type": ["string", "null"], "description": "staff username, for out and note"},
        "subject": STR, "body": STR, "new_text": {"type": "string", "description": "the text above any quotation"},
        "has_html": {"type": "boolean", "description": "an HTML part was stored; it is never served"},
        "is_automatic": {"type": "boolean"}, "created_at": TIME,
        "attachments": {"type": "array", "items": _ref("AttachmentInfo")},
    }),
    "HistoryEntry": _obj({
        "id": INT, "at": TIME, "actor": STR, "action": STR, "from_state": OPT_STR, "to_state": OPT_STR,
        "changes": {"type": "object", "description": "field -> [before, after]",
                    "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2}},
        "note": STR,
    }),
    "CaseDetail": {"allOf": [_ref("CaseSummary"), _obj({
        "description": STR, "batch": OPT_STR, "quantity": OPT_INT, "vehicle": OPT_STR, "reply_channel": STR,
        "language": STR, "contact": _obj({"id": INT, "name": STR}), "linked_case": OPT_STR, "created_at": TIME,
        "no_action_reason": OPT_STR, "analysis": OPT_STR, "measures": OPT_STR, "verification": OPT_STR,
        "rating": OPT_STR, "rating_score": OPT_INT, "satisfaction_requested_at": OPT_TIME,
        "reminder_sent_at": OPT_TIME, "closed_at": OPT_TIME, "reopen_count": INT, "version": INT,
        "messages": {"type": "array", "items": _ref("Message")},
        "history": {"type": "array", "items": _ref("HistoryEntry")},
        "allowed_actions": {"type": "array", "items": {"enum": [a.value for a in Action]},
                            "description": "workflow steps the caller may take now; each is a POST to "
                            "/api/v1/cases/{reference}/<step>: " + ", ".join(
                                f"{s.action.value} -> {s.segment}" for s in STEPS if s.action)},
    })]},
    "StepResult": _obj({"reference": STR, "state": {"enum": [s.value for s in CaseState]}}),
    "InboundItem": _obj({
        "id": INT, "channel": STR, "status": {"enum": [InboundStatus.QUARANTINED.value, InboundStatus.IGNORED.value]},
        "received_at": TIME, "envelope_from": {"type": "string", "description": "redacted: z***@example.cn"},
        "message_id": OPT_STR, "reason": OPT_STR, "rule_hits": {"type": "array", "items": STR},
        "attempts": INT, "size": INT,
    }),
    "InboundList": _obj({"items": {"type": "array", "items": _ref("InboundItem")}, "total": INT}),
    "Rerun": _obj({"id": INT, "status": {"const": "pending"}}),
    "SetAsideEvent": _obj({"id": INT, "kind": STR, "case": {"type": ["string", "null"]},
                           "created_at": TIME, "set_aside_at": TIME, "error": STR}),
    "SetAsideList": _obj({"items": {"type": "array", "items": _ref("SetAsideEvent")}, "total": INT}),
}

_ERRORS: dict[str, str] = {
    "400": "The request is malformed: not JSON, a missing field, a wrong type, a bad query parameter.",
    "401": "No token, or an invalid one.",
    "403": "The caller's roles do not allow this.",
    "404": "No such thing, or it belongs to another department.",
    "409": "The step is not allowed in the case's current state, or the thing changed meanwhile.",
    "422": "The values are well-formed but refused (an empty text, an unknown department).",
}


def _errors(*codes: str) -> Doc:
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in codes}


def _json(schema: Doc, description: str) -> Doc:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _param(name: str, where: str, schema: Doc, description: str, required: bool = False) -> Doc:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema,
            "description": description}


REFERENCE = _param("reference", "path", STR, "the case reference, e.g. FB-2026-000123")
PAGING = [_param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "page size"),
          _param("offset", "query", {"type": "integer", "minimum": 0, "default": 0}, "items to skip")]


def _op(name: str, summary: str, ok: Doc, *errors: str, parameters: list[Doc] | None = None,
        body: Doc | None = None, tag: str = "cases") -> Doc:
    access = ACCESS[name]
    op: Doc = {
        "operationId": name, "summary": summary, "tags": [tag],
        "description": f"Allowed for: {describe(access)}.",
        "x-roles": sorted(r.value for r in access) if isinstance(access, frozenset) else access.value,
        "responses": {**ok, **_errors(*(() if access is Open.PUBLIC else ("401",)), *errors)},
    }
    if access is Open.PUBLIC:
        op["security"] = []
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def _step_paths() -> Doc:
    paths: Doc = {}
    for step in STEPS:
        body = _obj({f.name: {"type": "string", "description": f.description} for f in step.fields},
                    [f.name for f in step.fields if f.required], additionalProperties=False)
        paths[f"/api/v1/cases/{{reference}}/{step.segment}"] = {"post": _op(
            step.name, step.summary, {"200": _json(_ref("StepResult"), "The step was taken; the case's new state.")},
            "400", "403", "404", "409", "422", parameters=[REFERENCE], body=body, tag="workflow",
        )}
    return paths


def _paths() -> Doc:
    return {
        "/api/v1/health": {"get": _op("health", "Is the service and its database up?", {
            "200": _json(_ref("Health"), "Up."), "503": _json(_ref("Health"), "The database does not answer.")},
            tag="system")},
        "/api/v1/openapi.json": {"get": _op("openapi", "This description", {
            "200": _json({"type": "object"}, "The OpenAPI 3.1 document.")}, tag="system")},
        "/api/v1/me": {"get": _op("me", "The caller", {"200": _json(_ref("Me"), "Who the token belongs to.")},
                                  tag="system")},
        "/api/v1/departments": {"get": _op("list_departments", "The departments (codes for approve and reassign)", {
            "200": _json(_ref("DepartmentList"), "All departments.")}, "403", tag="system")},
        "/api/v1/cases": {"get": _op("list_cases", "List and filter cases, newest first", {
            "200": _json(_ref("CaseList"), "One page of cases and the total.")}, "400", "403", "422", parameters=[
            _param("state", "query", {"enum": [s.value for s in CaseState]}, "only cases in this state"),
            _param("department", "query", STR, "a department code"),
            _param("type", "query", {"enum": [t.value for t in CaseType]}, "the case type"),
            _param("customer_id", "query", {"type": "integer", "minimum": 1}, "the customer"),
            _param("q", "query", STR, "text in the reference, subject, part number or the text read from a fax or "
                   "scanned letter (case-insensitive)"),
            _param("received_from", "query", STR, "received at or after: a date (company time zone) or an "
                   "ISO 8601 time with offset"),
            _param("received_to", "query", STR, "received before: a time, or a date (that whole day included)"),
            *PAGING])},
        "/api/v1/cases/{reference}": {"get": _op("get_case", "One case with messages, history and allowed actions", {
            "200": _json(_ref("CaseDetail"), "The case.")}, "403", "404", parameters=[REFERENCE])},
        "/api/v1/cases/{reference}/attachments/{attachment_id}": {"get": _op(
            "get_attachment", "Download an attachment (always as a file, never rendered)", {"200": {
                "description": "The bytes, as application/octet-stream with Content-Disposition: attachment "
                               "and X-Content-Type-Options: nosniff.",
                "content": {"application/octet-stream": {"schema": {"type": "string", "contentMediaType":
                                                                    "application/octet-stream"}}}}},
            "400", "403", "404",
            parameters=[REFERENCE, _param("attachment_id", "path", INT, "an attachment id of the case")])},
        **_step_paths(),
        "/api/v1/inbound": {"get": _op("list_inbound", "Held inbound mail: quarantined or ignored", {
            "200": _json(_ref("InboundList"), "One page of held messages, newest first.")}, "400", "403",
            parameters=[_param("status", "query", {"enum": [s.value for s in (InboundStatus.QUARANTINED,
                                                                              InboundStatus.IGNORED)]},
                               "one status only (default: both)"), *PAGING], tag="inbound")},
        "/api/v1/inbound/{inbound_id}/rerun": {"post": _op(
            "rerun_inbound", "Process a held message again (after a fix)", {
                "202": _json(_ref("Rerun"), "Queued; the processor takes it shortly.")}, "400", "403", "404", "409",
            parameters=[_param("inbound_id", "path", INT, "the inbound message id")], tag="inbound")},
        "/api/v1/notifications/set-aside": {"get": _op(
            "list_set_aside", "Notification events the fan-out set aside (it could not handle them)", {
                "200": _json(_ref("SetAsideList"), "One page of set-aside events, newest first.")}, "400", "403",
            parameters=[*PAGING], tag="inbound")},
        "/api/v1/notifications/set-aside/{event_id}/rerun": {"post": _op(
            "refan_event", "Fan a set-aside event out again (after a fix)", {
                "202": _json(_ref("Rerun"), "Queued; the dispatcher takes it shortly.")}, "400", "403", "404", "409",
            parameters=[_param("event_id", "path", INT, "the outbox event id")], tag="inbound")},
        **openapi_channels.paths(),
        **openapi_telegram.paths(),
    }


@cache
def _document() -> Doc:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kefu API",
            "version": "1",
            "description": "Complaint and service cases (客服) following the service procedure. Errors are "
                           "JSON: {\"error\": {\"code\": ..., \"message\": ...}}. Send the token as "
                           "`Authorization: Bearer <token>` (create one with `kefu token create USERNAME`).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": "system"}, {"name": "cases"}, {"name": "workflow"}, {"name": "inbound"},
                 {"name": "entries"}, {"name": "archive"}, {"name": "telegram"}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "an API token of a staff user"}},
            "schemas": {**SCHEMAS, **openapi_channels.schemas(), **openapi_telegram.schemas()},
            "responses": {f"E{code}": _json(_ref("Error"), text) for code, text in _ERRORS.items()},
        },
    }


def document() -> Doc:
    """A fresh copy: callers may change theirs without touching the cached one."""
    return copy.deepcopy(_document())
