"""The OpenAPI part of the quality records (merged in by openapi.py): warranty parts and
on-site service reports (docs/quality.md); agreed deadlines are in openapi_deadlines.py."""

from __future__ import annotations

from cases.quality.service_states import ReportState
from cases.quality.warranty import Decision
from kefu.web.api.openapi_blocks import (
    FILLED,
    ID,
    INT,
    OPT_INT,
    OPT_STR,
    OPT_TIME,
    REFERENCE,
    STR,
    TEXT,
    TIME,
    Doc,
    body_of,
    json_doc,
    nullable,
    obj,
    operation,
    param,
    ref,
)
from kefu.web.api.openapi_channels import BASE64
from kefu.web.api.quality import MAX_COST_CENTS, MAX_MILEAGE_KM, MAX_MINUTES, MAX_MONTHS
from kefu.web.api.support import MAX_QUANTITY

PART_ID = param("part_id", "path", ID, "a warranty part id of the case")
REPORT_ID = param("report_id", "path", ID, "a service report id of the case")
FILE_BODY = obj(
    {"filename": nullable(TEXT), "content_type": nullable(TEXT), "data": BASE64}, ["data"], additionalProperties=False
)
READ_ERRORS = ("400", "403", "404")
WRITE_ERRORS = ("400", "403", "404", "409", "422")


def _int(minimum: int, maximum: int, description: str) -> Doc:
    return {"type": ["integer", "null"], "minimum": minimum, "maximum": maximum, "description": description}


def schemas() -> Doc:
    file_info = obj(
        {
            "id": INT,
            "purpose": {"enum": ["evidence", "confirmation_scan"]},
            "filename": STR,
            "content_type": STR,
            "size": INT,
            "uploaded_by": STR,
            "uploaded_at": TIME,
            "url": {"type": "string", "description": "download path (always as a file)"},
        }
    )
    part = {
        "id": INT,
        "part_number": STR,
        "quantity_received": INT,
        "batch": OPT_STR,
        "vin": OPT_STR,
        "mileage_km": OPT_INT,
        "months_in_service": OPT_INT,
        "failure_description": STR,
        "failure_mode": {"type": ["string", "null"], "description": "a code of the managed failure-mode list"},
        "failure_date": OPT_STR,
        "production_date": OPT_STR,
        "claim_number": OPT_STR,
        "received_on": OPT_STR,
        "cost_cents": OPT_INT,
        "currency": STR,
        "decision": {"enum": [d.value for d in Decision] + [None]},
        "test_results": OPT_STR,
        "decided_by": OPT_STR,
        "decided_at": OPT_TIME,
        "created_by": STR,
        "created_at": TIME,
        "evidence": {"type": "array", "items": ref("QualityFile")},
    }
    texts = ("engineers", "location", "equipment", "task", "planned_by")
    optional = (
        "work_done",
        "findings",
        "parts_replaced",
        "result",
        "failure_mode",
        "reported_by",
        "reviewed_by",
        "review_note",
        "confirmed_by",
        "confirmed_how",
        "confirmation_rating",
        "confirmation_text",
        "recorded_by",
        "planned_start_local",
        "reported_at_local",
        "reviewed_at_local",
        "confirmed_at_local",
    )
    report: Doc = {
        "id": INT,
        "record_number": {"type": "string", "examples": ["DFCPZL063A-2026-0001"]},
        "state": {"enum": [s.value for s in ReportState]},
        "planned_start": TIME,
        "minutes_spent": OPT_INT,
        **{name: STR for name in texts},
        **{name: OPT_STR for name in optional},
        **{name: OPT_TIME for name in ("reported_at", "reviewed_at", "confirmation_requested_at", "confirmed_at")},
        "files": {"type": "array", "items": ref("QualityFile")},
    }
    return {
        "QualityFile": file_info,
        "WarrantyPart": obj(part),
        "WarrantyPartList": obj({"items": {"type": "array", "items": ref("WarrantyPart")}}),
        "QualityCreated": obj({"id": INT, "reference": STR}),
        "ServiceReport": obj(report),
        "ServiceReportList": obj({"items": {"type": "array", "items": ref("ServiceReport")}}),
        "ServiceReportRef": obj({"id": INT, "record_number": STR, "state": {"enum": [s.value for s in ReportState]}}),
    }


def _warranty_paths() -> Doc:
    part_body = body_of(
        {
            "part_number": {**FILLED, "description": "at most 80 characters"},
            "quantity_received": _int(1, MAX_QUANTITY, "parts received (default 1)"),
            "batch": nullable(TEXT),
            "vin": nullable(TEXT),
            "mileage_km": _int(0, MAX_MILEAGE_KM, "mileage at the failure"),
            "months_in_service": _int(0, MAX_MONTHS, "months in service (MIS) at the failure"),
            "failure_description": nullable(TEXT),
            "failure_mode": {**nullable(TEXT), "description": "a code of the managed failure-mode list"},
            "failure_date": {**nullable(TEXT), "description": "YYYY-MM-DD"},
            "production_date": {**nullable(TEXT), "description": "YYYY-MM-DD, of the part or its batch"},
            "claim_number": {**nullable(TEXT), "description": "the customer's claim number"},
            "received_on": {**nullable(TEXT), "description": "YYYY-MM-DD, when the part reached us"},
            "cost_cents": _int(0, MAX_COST_CENTS, "the cost of the complaint where known, in cents"),
            "currency": {**nullable(TEXT), "description": "three letters, default CNY"},
        },
        ["part_number"],
    )
    created = {"201": json_doc(ref("QualityCreated"), "Recorded.")}
    step_done = {"200": json_doc(ref("StepResult"), "Decided; the case's state.")}
    return {
        "/api/v1/cases/{reference}/warranty-parts": {
            "get": operation(
                "list_warranty_parts",
                "The case's returned warranty parts, their decisions and evidence",
                {"200": json_doc(ref("WarrantyPartList"), "The parts, oldest first.")},
                *READ_ERRORS,
                parameters=[REFERENCE],
                tag="quality",
            ),
            "post": operation(
                "add_warranty_part",
                "Record a returned part or lot (sales or quality)",
                created,
                *WRITE_ERRORS,
                parameters=[REFERENCE],
                body=part_body,
                tag="quality",
            ),
        },
        "/api/v1/cases/{reference}/warranty-parts/{part_id}/evidence": {
            "post": operation(
                "add_warranty_evidence",
                "Add a file of test evidence to a part (quality); it goes with the explanation",
                created,
                *WRITE_ERRORS,
                parameters=[REFERENCE, PART_ID],
                body=body_of({"file": FILE_BODY}, ["file"]),
                tag="quality",
            )
        },
        "/api/v1/cases/{reference}/warranty-parts/{part_id}/decision": {
            "post": operation(
                "decide_warranty_part",
                "Quality's responsibility decision: not ours and no trouble found are explained to the "
                "customer with the evidence; ours starts the corrective action (with the customer's "
                "CAPA deadline, when given)",
                step_done,
                *WRITE_ERRORS,
                parameters=[REFERENCE, PART_ID],
                body=body_of(
                    {
                        "decision": {"enum": [d.value for d in Decision]},
                        "test_results": {**FILLED, "description": "the results against the agreed test criteria"},
                        "capa_deadline": {
                            **nullable(TEXT),
                            "description": "ours only: the customer's deadline, 2026-12-15 or 2026-12-15T17:00+08:00",
                        },
                    },
                    ["decision", "test_results"],
                ),
                tag="quality",
            )
        },
    }


def _service_paths() -> Doc:
    done = {"200": json_doc(ref("ServiceReportRef"), "The report's new state.")}
    base = "/api/v1/cases/{reference}/service-reports"
    report = base + "/{report_id}"
    return {
        base: {
            "get": operation(
                "list_service_reports",
                "The case's on-site services and their reports",
                {"200": json_doc(ref("ServiceReportList"), "The reports, oldest first.")},
                *READ_ERRORS,
                parameters=[REFERENCE],
                tag="quality",
            ),
            "post": operation(
                "plan_service",
                "Plan and dispatch on-site service: who goes, when, where, with what; gives the record number",
                {"201": json_doc(ref("ServiceReportRef"), "Planned.")},
                *WRITE_ERRORS,
                parameters=[REFERENCE],
                body=body_of(
                    {
                        "engineers": FILLED,
                        "start": {**FILLED, "description": "a date (08:00 local) or a time, 2026-12-08T09:00+08:00"},
                        "location": FILLED,
                        "equipment": nullable(TEXT),
                        "task": FILLED,
                    },
                    ["engineers", "start", "location", "task"],
                ),
                tag="quality",
            ),
        },
        report + "/report": {
            "post": operation(
                "file_service_report",
                "The service engineer files the report (again, after the customer was not satisfied)",
                done,
                *WRITE_ERRORS,
                parameters=[REFERENCE, REPORT_ID],
                body=body_of(
                    {
                        "work_done": FILLED,
                        "findings": FILLED,
                        "result": FILLED,
                        "parts_replaced": nullable(TEXT),
                        "failure_mode": nullable(TEXT),
                        "minutes_spent": {"type": "integer", "minimum": 1, "maximum": MAX_MINUTES},
                    },
                    ["work_done", "findings", "result", "minutes_spent"],
                ),
                tag="quality",
            )
        },
        report + "/review": {
            "post": operation(
                "review_service_report",
                "The management representative reviews the report; the customer is asked to confirm it",
                done,
                *WRITE_ERRORS,
                parameters=[REFERENCE, REPORT_ID],
                body=body_of({"note": nullable(TEXT)}, []),
                tag="quality",
            )
        },
        report + "/paper-confirmation": {
            "post": operation(
                "confirm_service_on_paper",
                "Record the customer's confirmation signed on paper, with the scan (sales or quality)",
                done,
                *WRITE_ERRORS,
                parameters=[REFERENCE, REPORT_ID],
                body=body_of(
                    {
                        "confirmed_by": {**FILLED, "description": "the customer's representative who signed"},
                        "rating": {"enum": ["satisfied", "neutral", "unsatisfied"]},
                        "note": nullable(TEXT),
                        "scan": FILE_BODY,
                    },
                    ["confirmed_by", "rating", "scan"],
                ),
                tag="quality",
            )
        },
        report + "/form": {
            "get": operation(
                "service_report_form",
                "The report as the paper form, in HTML (default) or PDF (the shared document renderer)",
                {
                    "200": {
                        "description": "The form.",
                        "content": {
                            "text/html": {"schema": {"type": "string"}},
                            "application/pdf": {"schema": {"type": "string", "contentMediaType": "application/pdf"}},
                        },
                    }
                },
                *READ_ERRORS,
                parameters=[
                    REFERENCE,
                    REPORT_ID,
                    param("language", "query", {"enum": ["zh", "en"]}, "the form's language (default zh)"),
                    param("format", "query", {"enum": ["html", "pdf"]}, "html (default) or pdf"),
                ],
                tag="quality",
            )
        },
        "/api/v1/cases/{reference}/quality-files/{file_id}": {
            "get": operation(
                "get_quality_file",
                "Download an evidence file or a signed scan (always as a file)",
                {
                    "200": {
                        "description": "The bytes, as application/octet-stream with Content-Disposition: attachment.",
                        "content": {
                            "application/octet-stream": {
                                "schema": {"type": "string", "contentMediaType": "application/octet-stream"}
                            }
                        },
                    }
                },
                *READ_ERRORS,
                parameters=[REFERENCE, param("file_id", "path", ID, "a quality file id of the case")],
                tag="quality",
            )
        },
    }


def paths() -> Doc:
    return {**_warranty_paths(), **_service_paths()}
