"""The OpenAPI part of the procedure's reports (merged in by openapi.py; docs/reports.md)."""

from __future__ import annotations

from cases.reports.issued import FORMATS
from cases.reports.kinds import ReportKind
from kefu.web.api.openapi_blocks import FILLED, INT, STR, TIME, Doc, body_of, json_doc, obj, operation, param, ref

KIND: Doc = {"enum": [k.value for k in ReportKind]}
PERIOD: Doc = {
    "type": "string",
    "description": "a quarter (2026Q3), a year (2026) or two dates (2026-07-01..2026-09-30), in KEFU_TIMEZONE",
}
LANGUAGE: Doc = {"enum": ["zh", "en"]}
FILE = {
    "description": "The document: the page as text/html, else a download (Content-Disposition: attachment).",
    "content": {
        "text/html": {"schema": STR},
        "application/pdf": {"schema": {"type": "string", "contentMediaType": "application/pdf"}},
        FORMATS["xlsx"][0]: {"schema": {"type": "string", "contentMediaType": FORMATS["xlsx"][0]}},
    },
}


def schemas() -> Doc:
    return {
        "IssuedReport": obj(
            {
                "id": INT,
                "kind": KIND,
                "period": STR,
                "revision": INT,
                "record_number": STR,
                "language": LANGUAGE,
                "issued_by": STR,
                "approved_by": STR,
                "issued_at": TIME,
                "formats": {"type": "array", "items": {"enum": list(FORMATS)}},
            }
        ),
        "IssuedReportList": obj({"items": {"type": "array", "items": ref("IssuedReport")}}),
    }


def paths() -> Doc:
    return {
        "/api/v1/reports": {
            "get": operation(
                "list_reports",
                "The issued reports, newest first",
                {"200": json_doc(ref("IssuedReportList"), "The issued revisions.")},
                "400",
                "403",
                parameters=[param("kind", "query", KIND, "only this report")],
                tag="reports",
            ),
            "post": operation(
                "issue_report",
                "Issue the next revision of a report: counted now, frozen as a record",
                {"201": json_doc(ref("IssuedReport"), "The new revision.")},
                "400",
                "403",
                "409",
                "422",
                body=body_of(
                    {"kind": KIND, "period": PERIOD, "language": {"enum": ["zh", "en", ""]}, "approved_by": FILLED},
                    ["kind", "period", "approved_by"],
                ),
                tag="reports",
            ),
        },
        "/api/v1/reports/drafts/{kind}": {
            "get": operation(
                "draft_report",
                "A report counted now and not kept: the page, the PDF or the workbook",
                {"200": FILE},
                "400",
                "403",
                "422",
                parameters=[
                    param("kind", "path", KIND, "the report"),
                    param("period", "query", PERIOD, "the period", required=True),
                    param("language", "query", LANGUAGE, "the language (default zh)"),
                    param("format", "query", {"enum": list(FORMATS)}, "html (default), pdf or xlsx"),
                ],
                tag="reports",
            )
        },
        "/api/v1/reports/{record_number}/{format}": {
            "get": operation(
                "get_report_file",
                "An issued report as it was issued",
                {"200": FILE},
                "400",
                "403",
                "404",
                parameters=[
                    param("record_number", "path", STR, "DFCPXS009A-2026Q3-R1"),
                    param("format", "path", {"enum": list(FORMATS)}, "html, pdf or xlsx"),
                ],
                tag="reports",
            )
        },
    }
