"""The variables every template sees (documented in notifications/render.py)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from cases.domain.vocabulary import label
from cases.store.models import Case, Contact, Customer, Department, OutboxEvent


def event_department(event: OutboxEvent, case: Case) -> int | None:
    """The case's department when the event happened (events written before kefu kept it in
    the payload: the case's department now)."""
    payload = event.payload or {}
    if "department_id" in payload:
        value = payload["department_id"]
        return int(value) if value is not None else None
    return case.department_id


def notice_context(
    case: Case,
    event: OutboxEvent,
    contact: Contact | None,
    customer: Customer | None,
    dept: Department | None,
    language: str,
    tz: ZoneInfo,
    console_url: str,
) -> dict[str, Any]:
    """The context of one notice, from rows already read (notifications/batch.py reads them for
    a whole batch of deliveries at once)."""
    fmt = "%Y-%m-%d %H:%M"
    payload = event.payload or {}
    return {
        "case": {
            "reference": case.reference,
            "subject": case.subject,
            "type_label": label("type", case.type, language, capital=True),
            "state": case.state,
            "department_label": (dept.name_en if language == "en" else dept.name_zh) if dept else "",
            "customer_name": customer.name if customer else "",
            "contact_name": contact.name if contact else "",
            "part_number": case.part_number or "",
            "batch": case.batch or "",
            "received_at_local": case.received_at.astimezone(tz).strftime(fmt),
            "deadline_local": case.customer_deadline.astimezone(tz).strftime(fmt) if case.customer_deadline else "",
            "severity": case.severity,
        },
        "reason": payload.get("reason") or case.no_action_reason or "",
        # verification_rejected: why Quality found the measures not effective, at that step
        "note": payload.get("note") or "",
        "message": payload.get("message") or payload.get("text") or "",
        # A message from someone who is neither the customer nor staff (their address).
        "third_party": payload.get("third_party") or "",
        # case_reopened: "message" when the customer wrote to the closed case (no rating given)
        "reopened_by": payload.get("why") or "",
        "rating": label("rating", payload.get("rating") or case.rating, language),
        "console_url": f"{console_url}/cases/{case.reference}" if console_url else "",
        "reply_hint": "",
        # address_bounced: the address a notice bounced from, the status code, the server's words
        "bounce": {k: str(payload.get(k) or "") for k in ("address", "status", "diagnostic")},
        "telegram_link": "",  # a single-use deep link to follow the case by chat, when the bot is on
        # quality events (cases/quality/): the record the notice is about (a part, a report, a step)
        "details": payload.get("details") or {},
    }


def staff_notice_context(event: OutboxEvent, console_url: str) -> dict[str, Any]:
    """The context of a staff notice about no case (a report falling due): no ``case``, so a
    template that prints case fields fails loudly (StrictUndefined) instead of printing blanks.
    Its frame is ``staff/_notice`` (notifications/render.py), not the case-based ``_base``."""
    details = (event.payload or {}).get("details") or {}
    page = str(details.get("console_page") or "")
    return {
        "event": event.kind,
        # what the notice is about: a report due (kind, period, due_on, command, console_page, ...)
        "details": details,
        "console_url": f"{console_url}{page}" if console_url and page else "",
        "reply_hint": "",
        "telegram_link": "",
    }
