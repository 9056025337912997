"""The OpenAPI part of the field data (merged in by openapi.py): early-warning alerts, the
scan, its thresholds, a part's months-in-service view, batch traceability (docs/field-data.md)."""

from __future__ import annotations

from cases.field.alerts import Decision
from kefu.web.api.openapi_blocks import (
    FILLED,
    ID,
    INT,
    OPT_INT,
    OPT_STR,
    OPT_TIME,
    PAGING,
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

NUM: Doc = {"type": "number"}
OPT_NUM: Doc = {"type": ["number", "null"]}
DAY: Doc = {"type": "string", "description": "YYYY-MM-DD"}
RULE: Doc = {"enum": ["c_chart", "u_chart"], "description": "counts, or rate per unit in service (shipments known)"}


def schemas() -> Doc:
    alert = {
        "id": INT,
        "part_number": STR,
        "failure_mode": {"type": "string", "description": "empty when the records name none"},
        "customer_id": {**OPT_INT, "description": "null: all customers"},
        "rule": RULE,
        "window_start": DAY,
        "window_end": DAY,
        "observed": INT,
        "expected": NUM,
        "upper_limit": {"type": "integer", "description": "the smallest count that signals (exact Poisson tail)"},
        "p_value": NUM,
        "exposure_unit_days": OPT_NUM,
        "raised_at": TIME,
        "acknowledged_by": OPT_STR,
        "acknowledged_at": OPT_TIME,
        "decision": nullable({"enum": [d.value for d in Decision]}),
        "note": OPT_STR,
    }
    signal = obj(
        {
            "part_number": STR,
            "failure_mode": STR,
            "customer_id": OPT_INT,
            "rule": RULE,
            "observed": INT,
            "baseline": INT,
            "expected": NUM,
            "upper_limit": INT,
            "p_value": NUM,
            "exposure_unit_days": OPT_NUM,
        }
    )
    threshold = obj(
        {"part_number": STR, "failure_mode": STR, "alpha": NUM, "min_count": INT, "updated_by": STR, "updated_at": TIME}
    )
    return {
        "WarningAlert": obj(alert),
        "WarningAlertDetail": obj(
            {**alert, "cases": {"type": "array", "items": obj({"reference": STR, "subject": STR, "state": STR})}}
        ),
        "WarningAlertList": obj({"items": {"type": "array", "items": ref("WarningAlert")}, "total": INT}),
        "WarningScan": obj(
            {
                "fed": {"type": "integer", "description": "field records the catch-up wrote"},
                "cells": INT,
                "window": obj({"start": DAY, "end": DAY}),
                "baseline_start": DAY,
                "signals": {"type": "array", "items": signal},
                "opened": {"type": "array", "items": INT, "description": "ids of the new alerts"},
            }
        ),
        "WarningThreshold": threshold,
        "WarningThresholds": obj(
            {"items": {"type": "array", "items": threshold}, "default": obj({"alpha": NUM, "min_count": INT})}
        ),
        "MonthsInService": obj(
            {
                "part_number": STR,
                "shipments_known": {"type": "boolean"},
                "unknown_age": INT,
                "points": {
                    "type": "array",
                    "items": obj(
                        {
                            "months_in_service": INT,
                            "failures": INT,
                            "units_reached": INT,
                            "per_thousand": OPT_NUM,
                            "cumulative_per_thousand": OPT_NUM,
                        }
                    ),
                },
            }
        ),
        "BatchTrace": obj(
            {
                "batch": STR,
                "shipped": INT,
                "customers": {
                    "type": "array",
                    "items": obj({"customer": STR, "customer_id": OPT_INT, "shipped": INT, "complaints": INT}),
                },
                "shipments": {
                    "type": "array",
                    "items": obj(
                        {"part_number": STR, "customer": STR, "customer_id": OPT_INT, "month": STR, "quantity": INT}
                    ),
                },
                "complaints": {
                    "type": "array",
                    "items": obj(
                        {
                            "reference": STR,
                            "customer": STR,
                            "subject": STR,
                            "state": STR,
                            "part_number": OPT_STR,
                            "received_at": TIME,
                        }
                    ),
                },
                "failures": {
                    "type": "array",
                    "items": obj({"part_number": STR, "failure_mode": STR, "records": INT, "quantity": INT}),
                },
            }
        ),
    }


def paths() -> Doc:
    alert_id = param("alert_id", "path", ID, "the early-warning alert id")
    return {
        "/api/v1/field/alerts": {
            "get": operation(
                "list_warning_alerts",
                "Early-warning alerts (早期报警), newest first; the open ones unless open=false",
                {"200": json_doc(ref("WarningAlertList"), "One page of alerts and the total.")},
                "400",
                "403",
                parameters=[
                    param("open", "query", {"enum": ["true", "false"]}, "false: every alert, acknowledged too"),
                    *PAGING,
                ],
                tag="field",
            )
        },
        "/api/v1/field/alerts/{alert_id}": {
            "get": operation(
                "get_warning_alert",
                "One alert with the numbers behind it and the cases it links",
                {"200": json_doc(ref("WarningAlertDetail"), "The alert.")},
                "400",
                "403",
                "404",
                parameters=[alert_id],
                tag="field",
            )
        },
        "/api/v1/field/alerts/{alert_id}/acknowledge": {
            "post": operation(
                "acknowledge_warning_alert",
                "Acknowledge an alert with a decision (quality, sales or approver)",
                {"200": json_doc(ref("WarningAlertDetail"), "Acknowledged.")},
                "400",
                "403",
                "404",
                "409",
                "422",
                parameters=[alert_id],
                body=body_of(
                    {
                        "decision": {"enum": [d.value for d in Decision]},
                        "note": {**nullable(TEXT), "maxLength": 4000},
                    },
                    ["decision"],
                ),
                tag="field",
            )
        },
        "/api/v1/field/scan": {
            "post": operation(
                "run_warning_scan",
                "Run the early-warning scan now (the workers run it every KEFU_EARLY_WARNING_SCAN_SECONDS)",
                {"200": json_doc(ref("WarningScan"), "What the scan judged, found and opened.")},
                "403",
                tag="field",
            )
        },
        "/api/v1/field/thresholds": {
            "get": operation(
                "list_warning_thresholds",
                "The early warning's editable thresholds, and the defaults where no row applies",
                {"200": json_doc(ref("WarningThresholds"), "The table.")},
                "403",
                tag="field",
            ),
            "put": operation(
                "put_warning_threshold",
                "Set the threshold of a part and failure mode (* for any): quality or admin",
                {"200": json_doc(ref("WarningThreshold"), "The row as stored.")},
                "400",
                "403",
                "422",
                body=body_of(
                    {
                        "part_number": {**FILLED, "maxLength": 80, "description": "a part number, or * for any"},
                        "failure_mode": {**FILLED, "maxLength": 40, "description": "a failure mode code, or * for any"},
                        "alpha": {
                            "type": "number",
                            "exclusiveMinimum": 0,
                            "exclusiveMaximum": 0.5,
                            "description": "the false-alarm probability a count must beat",
                        },
                        "min_count": {"type": "integer", "minimum": 1, "maximum": 100000},
                    },
                    ["part_number", "failure_mode", "alpha", "min_count"],
                ),
                tag="field",
            ),
        },
        "/api/v1/field/parts/{part_number}/months-in-service": {
            "get": operation(
                "months_in_service",
                "A part's failures by months in service, per thousand units that reached that age",
                {"200": json_doc(ref("MonthsInService"), "The curve.")},
                "400",
                "403",
                "404",
                parameters=[param("part_number", "path", {**TEXT, "minLength": 1}, "the part number")],
                tag="field",
            )
        },
        "/api/v1/batches/{batch}": {
            "get": operation(
                "get_batch",
                "Batch traceability: every customer and shipment that received the batch, every complaint about it",
                {"200": json_doc(ref("BatchTrace"), "The batch's trace.")},
                "400",
                "403",
                "404",
                "422",
                parameters=[param("batch", "path", {**TEXT, "minLength": 1}, "the batch, e.g. B2026-1107")],
                tag="field",
            )
        },
    }
