"""The REST API's route table and its small system endpoints (health, description, caller).

Every endpoint is one row of `ROUTES`; its name is the key of the access table
(kefu/web/api/access.py) and the operationId of the API description (kefu/web/api/openapi.py).
Tests check that the three agree.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import text

from cases.queries import case_views as queries
from cases.queries import operations
from kefu.web.api import archive as api_archive
from kefu.web.api import cases as api_cases
from kefu.web.api import deadlines as api_deadlines
from kefu.web.api import eightd as api_eightd
from kefu.web.api import entries as api_entries
from kefu.web.api import field as api_field
from kefu.web.api import inbound as api_inbound
from kefu.web.api import openapi
from kefu.web.api import outbox as api_outbox
from kefu.web.api import quality as api_quality
from kefu.web.api import reports as api_reports
from kefu.web.api import rules as api_rules
from kefu.web.api import telegram as api_telegram
from kefu.web.api import updates as api_updates
from kefu.web.api.access import ACCESS
from kefu.web.api.support import CHANNEL_STATUS, CLOCK, DB, actor_of

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
HEALTH_TIMEOUT_SECONDS = 5.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def health(request: web.Request) -> web.Response:
    """A load balancer's question: can this instance reach its database? And for the person on
    call: what is waiting (the backlog) and how each channel is."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
            async with request.app[DB].reader() as s:
                await s.execute(text("SELECT 1"))
                waiting = await operations.backlog(s, request.app[CLOCK]())
    except Exception as exc:
        log.warning("health: the database does not answer: %s: %s", type(exc).__name__, exc)
        return web.json_response({"status": "unavailable", "database": "unavailable"}, status=503)
    body: dict[str, object] = {"status": "ok", "database": "ok", "backlog": waiting}
    # Channels (the IMAP mailbox, ...) report their own state; a channel in error does not
    # make the instance unhealthy for a load balancer, it is for the person on call to see.
    body.update({name: status() for name, status in request.app[CHANNEL_STATUS].items()})
    return web.json_response(body)


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi.document())


async def me(request: web.Request) -> web.Response:
    async with request.app[DB].reader() as s:
        return web.json_response(await queries.me(s, actor_of(request)))


async def list_departments(request: web.Request) -> web.Response:
    async with request.app[DB].reader() as s:
        return web.json_response({"items": await queries.departments(s)})


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    method: str
    path: str  # below PREFIX
    handler: Handler


_REPORT = "/cases/{reference}/service-reports/{report_id}"
QUALITY_ROUTES: tuple[Route, ...] = (
    Route("list_warranty_parts", "GET", "/cases/{reference}/warranty-parts", api_quality.list_warranty_parts),
    Route("add_warranty_part", "POST", "/cases/{reference}/warranty-parts", api_quality.add_warranty_part),
    Route(
        "add_warranty_evidence",
        "POST",
        "/cases/{reference}/warranty-parts/{part_id}/evidence",
        api_quality.add_warranty_evidence,
    ),
    Route(
        "decide_warranty_part",
        "POST",
        "/cases/{reference}/warranty-parts/{part_id}/decision",
        api_quality.decide_warranty_part,
    ),
    Route("list_service_reports", "GET", "/cases/{reference}/service-reports", api_quality.list_service_reports),
    Route("plan_service", "POST", "/cases/{reference}/service-reports", api_quality.plan_service),
    Route("file_service_report", "POST", _REPORT + "/report", api_quality.file_service_report),
    Route("review_service_report", "POST", _REPORT + "/review", api_quality.review_service_report),
    Route("confirm_service_on_paper", "POST", _REPORT + "/paper-confirmation", api_quality.confirm_service_on_paper),
    Route("service_report_form", "GET", _REPORT + "/form", api_quality.service_report_form),
    Route("get_quality_file", "GET", "/cases/{reference}/quality-files/{file_id}", api_quality.get_quality_file),
    Route("mark_step_done", "POST", "/cases/{reference}/due-steps/{step}/done", api_deadlines.mark_step_done),
    Route("list_overdue", "GET", "/deadlines/overdue", api_deadlines.list_overdue),
    Route("get_agreement", "GET", "/customers/{customer_id}/agreement", api_deadlines.get_agreement),
    Route("put_agreement", "PUT", "/customers/{customer_id}/agreement", api_deadlines.put_agreement),
    Route("get_calendar", "GET", "/calendar/{year}", api_deadlines.get_calendar),
    Route("put_calendar_day", "PUT", "/calendar/days/{day}", api_deadlines.put_calendar_day),
    Route("delete_calendar_day", "DELETE", "/calendar/days/{day}", api_deadlines.delete_calendar_day),
)

_8D = "/cases/{reference}/8d"
EIGHTD_ROUTES: tuple[Route, ...] = (
    Route("correct_case", "PATCH", "/cases/{reference}", api_eightd.correct_case),
    Route("set_review_team", "PUT", "/cases/{reference}/review-team", api_eightd.set_review_team),
    Route("get_eightd", "GET", _8D, api_eightd.get_eightd),
    Route("record_eightd_step", "PUT", _8D + "/steps/{step}", api_eightd.record_step),
    Route("sign_eightd_step", "POST", _8D + "/steps/{step}/sign", api_eightd.sign_step),
    Route("return_eightd", "POST", _8D + "/return", api_eightd.return_eightd),
    Route("eightd_document", "GET", _8D + "/document", api_eightd.eightd_document),
    Route("list_failure_modes", "GET", "/failure-modes", api_eightd.list_failure_modes),
    Route("put_failure_mode", "PUT", "/failure-modes/{code}", api_eightd.put_failure_mode),
    Route("list_severity_rules", "GET", "/severity-rules", api_eightd.list_severity_rules),
    Route("put_severity_rule", "PUT", "/severity-rules/{category}", api_eightd.put_severity_rule),
)

# Field data, early warning, batch traceability (docs/field-data.md)
FIELD_ROUTES: tuple[Route, ...] = (
    Route("list_warning_alerts", "GET", "/field/alerts", api_field.list_warning_alerts),
    Route("get_warning_alert", "GET", "/field/alerts/{alert_id}", api_field.get_warning_alert),
    Route(
        "acknowledge_warning_alert",
        "POST",
        "/field/alerts/{alert_id}/acknowledge",
        api_field.acknowledge_warning_alert,
    ),
    Route("run_warning_scan", "POST", "/field/scan", api_field.run_warning_scan),
    Route("list_warning_thresholds", "GET", "/field/thresholds", api_field.list_warning_thresholds),
    Route("put_warning_threshold", "PUT", "/field/thresholds", api_field.put_warning_threshold),
    Route("months_in_service", "GET", "/field/parts/{part_number}/months-in-service", api_field.months_in_service),
    Route("get_batch", "GET", "/batches/{batch}", api_field.get_batch),
)


ROUTES: tuple[Route, ...] = (
    Route("health", "GET", "/health", health),
    Route("openapi", "GET", "/openapi.json", openapi_json),
    Route("me", "GET", "/me", me),
    Route("list_departments", "GET", "/departments", list_departments),
    Route("list_cases", "GET", "/cases", api_cases.list_cases),
    Route("get_case", "GET", "/cases/{reference}", api_cases.get_case),
    Route("get_attachment", "GET", "/cases/{reference}/attachments/{attachment_id}", api_cases.get_attachment),
    Route("get_message_html", "GET", "/cases/{reference}/messages/{message_id}/html", api_cases.get_message_html),
    *(
        Route(step.name, "POST", f"/cases/{{reference}}/{step.segment}", api_cases.step_handler(step))
        for step in api_cases.STEPS
    ),
    Route("list_inbound", "GET", "/inbound", api_inbound.list_inbound),
    Route("rerun_inbound", "POST", "/inbound/{inbound_id}/rerun", api_inbound.rerun_inbound),
    Route("list_set_aside", "GET", "/notifications/set-aside", api_outbox.list_set_aside),
    Route("refan_event", "POST", "/notifications/set-aside/{event_id}/rerun", api_outbox.refan_event),
    Route("list_failed_updates", "GET", "/telegram/failed-updates", api_updates.list_failed_updates),
    Route("rerun_update", "POST", "/telegram/failed-updates/{update_id}/rerun", api_updates.rerun_update),
    # Staff-logged entries and the customer archive (README "Fax, phone, letter, visit, survey")
    Route("log_entry", "POST", "/entries/{kind}", api_entries.log_entry),
    Route("create_customer", "POST", "/customers", api_archive.create_customer),
    Route("list_customers", "GET", "/customers", api_archive.list_customers),
    Route("get_customer", "GET", "/customers/{customer_id}", api_archive.get_customer),
    Route("create_contact", "POST", "/customers/{customer_id}/contacts", api_archive.create_contact),
    Route("update_contact", "PATCH", "/contacts/{contact_id}", api_archive.update_contact),
    Route("add_identity", "POST", "/contacts/{contact_id}/identities", api_archive.add_identity),
    Route("clear_bounce", "POST", "/identities/{identity_id}/clear-bounce", api_archive.clear_bounce),
    Route("merge", "POST", "/merges", api_archive.merge),
    Route("unmerge", "POST", "/merges/{merge_id}/undo", api_archive.unmerge),
    # Telegram deep links (README "Telegram bot")
    Route("contact_telegram_link", "POST", "/contacts/{contact_id}/telegram-link", api_telegram.contact_telegram_link),
    Route("my_telegram_link", "POST", "/me/telegram-link", api_telegram.my_telegram_link),
    Route("list_reports", "GET", "/reports", api_reports.list_reports),
    Route("issue_report", "POST", "/reports", api_reports.issue_report),
    Route("draft_report", "GET", "/reports/drafts/{kind}", api_reports.draft_report),
    Route("get_report_file", "GET", "/reports/{record_number}/{format}", api_reports.get_report_file),
    # The quality room: warranty parts, on-site service, agreed deadlines (docs/quality.md)
    *QUALITY_ROUTES,
    # The form's corrections, review team and 8D, severity and failure-mode tables (docs/quality.md)
    *EIGHTD_ROUTES,
    *FIELD_ROUTES,
    # The rule tables an admin keeps: severity, routing, intake holds (docs/console.md)
    Route("list_rule_tables", "GET", "/rule-tables", api_rules.list_rule_tables),
    Route("get_rule_table", "GET", "/rule-tables/{table}", api_rules.get_rule_table),
    Route("put_rule", "PUT", "/rule-tables/{table}/{key}", api_rules.put_rule),
)


def add_routes(app: web.Application) -> None:
    missing = [r.name for r in ROUTES if r.name not in ACCESS]
    if missing:  # fail at start, not open: a route without a rule would be nobody's decision
        raise RuntimeError(f"routes without an access rule: {', '.join(missing)}")
    for r in ROUTES:
        app.router.add_route(r.method, PREFIX + r.path, r.handler, name=r.name)
