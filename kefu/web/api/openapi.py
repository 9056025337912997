"""The OpenAPI 3.1 description of /api/v1, built in code and served at /api/v1/openapi.json.

Each operation's operationId is its route name; the roles shown come from the access table
and the workflow bodies from the step table, so neither can drift from what the server does.
A test checks that every registered route is described here and nothing else.
"""

from __future__ import annotations

import copy
from functools import cache

from cases.store.models import InboundStatus
from kefu.web.api import (
    openapi_cases,
    openapi_channels,
    openapi_deadlines,
    openapi_eightd,
    openapi_field,
    openapi_quality,
    openapi_reports,
    openapi_rules,
    openapi_telegram,
)
from kefu.web.api.openapi_blocks import (
    ERRORS,
    ID,
    INT,
    OPT_STR,
    PAGING,
    STR,
    TIME,
    Doc,
    json_doc,
    obj,
    operation,
    param,
    ref,
)

SCHEMAS: Doc = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": {
                        "type": "string",
                        "description": "machine-readable: bad_request, invalid_input, unauthorized, "
                        "forbidden, not_found, illegal_transition, conflict, internal_error, ...",
                    },
                    "message": {"type": "string", "description": "a sentence a person understands"},
                }
            )
        }
    ),
    "Health": obj(
        {
            "status": {"enum": ["ok", "unavailable"]},
            "database": {"enum": ["ok", "unavailable"]},
            "backlog": obj(
                {
                    "inbound_pending": INT,
                    "oldest_pending_seconds": {"type": ["integer", "null"]},
                    "inbound_quarantined": INT,
                    "notices_pending": INT,
                    "notices_dead": INT,
                },
                description="what is waiting; absent when the database does not answer",
            ),
            "imap": obj(
                {
                    "state": {"enum": ["starting", "connecting", "running", "reconnecting", "error", "stopped"]},
                    "error": OPT_STR,
                    "mailbox": STR,
                    "mode": {"enum": ["idle", "poll", None]},
                    "last_check": OPT_STR,
                    "stored": INT,
                    "duplicates": INT,
                    "oversized": INT,
                    "set_aside": INT,
                },
                description="only when KEFU_IMAP_URL is set",
            ),
        },
        ["status", "database"],
    ),
    "Me": obj({"username": STR, "display_name": STR, "roles": {"type": "array", "items": STR}, "department": OPT_STR}),
    "Department": obj({"code": STR, "name_zh": STR, "name_en": STR}),
    "DepartmentList": obj({"items": {"type": "array", "items": ref("Department")}}),
    "InboundItem": obj(
        {
            "id": INT,
            "channel": STR,
            "status": {"enum": [InboundStatus.QUARANTINED.value, InboundStatus.IGNORED.value]},
            "received_at": TIME,
            "envelope_from": {"type": "string", "description": "redacted: z***@example.cn"},
            "message_id": OPT_STR,
            "reason": OPT_STR,
            "rule_hits": {"type": "array", "items": STR},
            "attempts": INT,
            "size": INT,
        }
    ),
    "InboundList": obj({"items": {"type": "array", "items": ref("InboundItem")}, "total": INT}),
    "Rerun": obj({"id": INT, "status": {"const": "pending"}}),
    "SetAsideEvent": obj(
        {
            "id": INT,
            "kind": STR,
            "case": {"type": ["string", "null"]},
            "created_at": TIME,
            "set_aside_at": TIME,
            "error": STR,
        }
    ),
    "SetAsideList": obj({"items": {"type": "array", "items": ref("SetAsideEvent")}, "total": INT}),
}


def _paths() -> Doc:
    return {
        "/api/v1/health": {
            "get": operation(
                "health",
                "Is the service and its database up?",
                {
                    "200": json_doc(ref("Health"), "Up."),
                    "503": json_doc(ref("Health"), "The database does not answer."),
                },
                tag="system",
            )
        },
        "/api/v1/openapi.json": {
            "get": operation(
                "openapi",
                "This description",
                {"200": json_doc({"type": "object"}, "The OpenAPI 3.1 document.")},
                tag="system",
            )
        },
        "/api/v1/me": {
            "get": operation(
                "me", "The caller", {"200": json_doc(ref("Me"), "Who the token belongs to.")}, tag="system"
            )
        },
        "/api/v1/departments": {
            "get": operation(
                "list_departments",
                "The departments (codes for approve and reassign)",
                {"200": json_doc(ref("DepartmentList"), "All departments.")},
                "403",
                tag="system",
            )
        },
        **openapi_cases.paths(),
        "/api/v1/inbound": {
            "get": operation(
                "list_inbound",
                "Held inbound mail: quarantined or ignored",
                {"200": json_doc(ref("InboundList"), "One page of held messages, newest first.")},
                "400",
                "403",
                parameters=[
                    param(
                        "status",
                        "query",
                        {"enum": [s.value for s in (InboundStatus.QUARANTINED, InboundStatus.IGNORED)]},
                        "one status only (default: both)",
                    ),
                    *PAGING,
                ],
                tag="inbound",
            )
        },
        "/api/v1/inbound/{inbound_id}/rerun": {
            "post": operation(
                "rerun_inbound",
                "Process a held message again (after a fix)",
                {"202": json_doc(ref("Rerun"), "Queued; the processor takes it shortly.")},
                "400",
                "403",
                "404",
                "409",
                parameters=[param("inbound_id", "path", ID, "the inbound message id")],
                tag="inbound",
            )
        },
        "/api/v1/notifications/set-aside": {
            "get": operation(
                "list_set_aside",
                "Notification events the fan-out set aside (it could not handle them)",
                {"200": json_doc(ref("SetAsideList"), "One page of set-aside events, newest first.")},
                "400",
                "403",
                parameters=[*PAGING],
                tag="inbound",
            )
        },
        "/api/v1/notifications/set-aside/{event_id}/rerun": {
            "post": operation(
                "refan_event",
                "Fan a set-aside event out again (after a fix)",
                {"202": json_doc(ref("Rerun"), "Queued; the dispatcher takes it shortly.")},
                "400",
                "403",
                "404",
                "409",
                parameters=[param("event_id", "path", ID, "the outbox event id")],
                tag="inbound",
            )
        },
        **openapi_channels.paths(),
        **openapi_telegram.paths(PAGING),
        **openapi_quality.paths(),
        **openapi_deadlines.paths(),
        **openapi_reports.paths(),
        **openapi_eightd.paths(),
        **openapi_field.paths(),
        **openapi_rules.paths(),
    }


@cache
def _document() -> Doc:
    paths = _paths()
    paths["/api/v1/cases/{reference}"]["patch"] = openapi_eightd.correct_case()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kefu API",
            "version": "1",
            "description": "Complaint and service cases (客服) following the service procedure. Errors are "
            'JSON: {"error": {"code": ..., "message": ...}}. Send the token as '
            "`Authorization: Bearer <token>` (create one with `kefu token create USERNAME`).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": "system"},
            {"name": "cases"},
            {"name": "workflow"},
            {"name": "inbound"},
            {"name": "entries"},
            {"name": "archive"},
            {"name": "telegram"},
            {"name": "quality"},
            {"name": "reports"},
            {"name": "field"},
            {"name": "rules"},
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "an API token of a staff user"}
            },
            "schemas": {
                **SCHEMAS,
                **openapi_cases.schemas(),
                **openapi_channels.schemas(),
                **openapi_telegram.schemas(),
                **openapi_quality.schemas(),
                **openapi_deadlines.schemas(),
                **openapi_reports.schemas(),
                **openapi_eightd.schemas(),
                **openapi_field.schemas(),
                **openapi_rules.schemas(),
            },
            "responses": {f"E{code}": json_doc(ref("Error"), text) for code, text in ERRORS.items()},
        },
    }


def document() -> Doc:
    """A fresh copy: callers may change theirs without touching the cached one."""
    return copy.deepcopy(_document())
