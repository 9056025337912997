"""The OpenAPI part of agreed deadlines (merged in by openapi.py): a case's steps, overdue
steps, customers' service agreements and the working-day calendar (docs/quality.md)."""

from __future__ import annotations

from cases.quality.agreements import MAX_AMOUNT, Step, Unit
from cases.quality.calendar import FIRST_YEAR, LAST_YEAR, DayKind
from kefu.web.api.openapi_blocks import (
    ID,
    INT,
    OPT_STR,
    OPT_TIME,
    PAGING,
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
from kefu.web.api.openapi_quality import READ_ERRORS, WRITE_ERRORS

DAY = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "description": "YYYY-MM-DD"}


def schemas() -> Doc:
    return {
        "DueStep": obj(
            {
                "step": {"enum": [s.value for s in Step]},
                "due_at": TIME,
                "source": {"enum": ["agreement", "default", "customer"]},
                "status": {"enum": ["open", "overdue", "done"]},
                "done_at": OPT_TIME,
                "warned_at": OPT_TIME,
                "overdue_at": OPT_TIME,
            }
        ),
        "OverdueStep": obj(
            {
                "reference": STR,
                "subject": STR,
                "state": STR,
                "department": OPT_STR,
                "step": {"enum": [s.value for s in Step]},
                "due_at": TIME,
                "source": STR,
                "overdue_hours": {"type": "number"},
                "escalated_at": OPT_TIME,
            }
        ),
        "OverdueList": obj({"items": {"type": "array", "items": ref("OverdueStep")}, "total": INT}),
        "Agreement": obj(
            {
                "customer_id": INT,
                "terms": {
                    "type": "array",
                    "items": obj(
                        {
                            "step": {"enum": [s.value for s in Step]},
                            "amount": INT,
                            "unit": {"enum": [u.value for u in Unit]},
                            "source": {"enum": ["agreement", "default"]},
                        }
                    ),
                },
            }
        ),
        "CalendarEntry": obj(
            {
                "day": STR,
                "kind": {"enum": [k.value for k in DayKind]},
                "note": STR,
                "updated_by": STR,
                "updated_at": TIME,
            }
        ),
        "CalendarYear": obj(
            {
                "year": INT,
                "library_knows_year": {"type": "boolean"},
                "entries": {"type": "array", "items": ref("CalendarEntry")},
                "library_days": {
                    "type": "array",
                    "description": "the calendar library's holidays on weekdays and make-up working days on weekends",
                    "items": obj({"day": STR, "kind": {"enum": ["holiday", "workday"]}}),
                },
            }
        ),
        "CalendarDeleted": obj({"day": STR, "deleted": {"const": True}}),
    }


def paths() -> Doc:
    customer = param("customer_id", "path", ID, "the customer id")
    day = param("day", "path", DAY, "the day, YYYY-MM-DD")
    agreement = {"200": json_doc(ref("Agreement"), "The terms in force: the customer's, else the defaults.")}
    return {
        "/api/v1/cases/{reference}/due-steps/{step}/done": {
            "post": operation(
                "mark_step_done",
                "Mark an agreed step done (an interim action reported by phone, say)",
                {"200": json_doc(ref("StepResult"), "Done; the case's state.")},
                *WRITE_ERRORS,
                parameters=[REFERENCE, param("step", "path", {"enum": [s.value for s in Step]}, "the agreed step")],
                tag="quality",
            )
        },
        "/api/v1/deadlines/overdue": {
            "get": operation(
                "list_overdue",
                "Agreed steps past due on cases that still owe the answer, oldest due first",
                {"200": json_doc(ref("OverdueList"), "One page of overdue steps and the total.")},
                "400",
                "403",
                parameters=PAGING,
                tag="quality",
            )
        },
        "/api/v1/customers/{customer_id}/agreement": {
            "get": operation(
                "get_agreement",
                "The customer's service agreement: by when each step is owed",
                agreement,
                *READ_ERRORS,
                parameters=[customer],
                tag="quality",
            ),
            "put": operation(
                "put_agreement",
                "Replace the customer's agreed terms (an empty list: the defaults again)",
                agreement,
                *WRITE_ERRORS,
                parameters=[customer],
                body=body_of(
                    {
                        "terms": {
                            "type": "array",
                            "items": body_of(
                                {
                                    "step": {"enum": [s.value for s in Step]},
                                    "amount": {"type": "integer", "minimum": 1, "maximum": max(MAX_AMOUNT.values())},
                                    "unit": {
                                        "enum": [u.value for u in Unit],
                                        "description": "h hours, d calendar days, wd working days",
                                    },
                                },
                                ["step", "amount", "unit"],
                            ),
                        }
                    },
                    ["terms"],
                ),
                tag="quality",
            ),
        },
        "/api/v1/calendar/{year}": {
            "get": operation(
                "get_calendar",
                "The working-day calendar of a year: the table's entries and the library's holidays",
                {"200": json_doc(ref("CalendarYear"), "The year.")},
                "400",
                parameters=[
                    param("year", "path", {"type": "integer", "minimum": FIRST_YEAR, "maximum": LAST_YEAR}, "the year")
                ],
                tag="quality",
            )
        },
        "/api/v1/calendar/days/{day}": {
            "put": operation(
                "put_calendar_day",
                "Enter a holiday, make-up working day (调休) or plant shutdown (approver or admin)",
                {"200": json_doc(ref("CalendarEntry"), "The entry.")},
                "400",
                "403",
                "422",
                parameters=[day],
                body=body_of(
                    {"kind": {"enum": [k.value for k in DayKind]}, "note": {**nullable(TEXT), "maxLength": 200}},
                    ["kind"],
                ),
                tag="quality",
            ),
            "delete": operation(
                "delete_calendar_day",
                "Remove an entry: the day is as the library (or Monday to Friday) says (approver or admin)",
                {"200": json_doc(ref("CalendarDeleted"), "Removed.")},
                "400",
                "403",
                "404",
                "422",
                parameters=[day],
                tag="quality",
            ),
        },
    }
