"""Quality records on a case (docs/quality.md): warranty claim parts and their decisions,
on-site service plans and reports, their files, and the report as the paper form in HTML.

Every handler checks only that the caller may see the case (the department rule); the quality
services check roles and the report's state table (cases/quality/)."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from aiohttp import web

from cases.domain.intake_message import Attachment
from cases.quality.report_html import LANGUAGES, render_service_report
from cases.quality.service_report import ReportInput
from cases.quality.warranty import PartInput
from cases.queries import case_views, quality_views
from kefu.documents import render
from kefu.web.api.access import scope_for
from kefu.web.api.cases import content_disposition
from kefu.web.api.support import (
    CASES,
    DB,
    MAX_QUANTITY,
    SETTINGS,
    RequestError,
    actor_of,
    int_field,
    json_object,
    no_other_fields,
    path_id,
    path_text,
    query_choice,
    text_field,
)

PART_TEXTS = (
    "part_number",
    "batch",
    "vin",
    "failure_description",
    "failure_mode",
    "failure_date",
    "production_date",
    "claim_number",
    "received_on",
    "currency",
)
PART_NUMBERS = ("quantity_received", "mileage_km", "months_in_service", "cost_cents")
MAX_MILEAGE_KM = 10_000_000
MAX_MONTHS = 1200
MAX_COST_CENTS = 2**31 - 1  # an INTEGER column: 32 bits on PostgreSQL
REPORT_TEXTS = ("work_done", "findings", "parts_replaced", "result", "failure_mode")
MAX_MINUTES = 60 * 24 * 60


async def _visible(request: web.Request) -> str:
    """The case reference of the path, once the caller may see that case."""
    reference = path_text(request, "reference")
    async with request.app[DB].reader() as s:
        await case_views.ensure_visible(s, scope_for(actor_of(request)), reference)
    return reference


def upload(body: dict[str, Any], name: str) -> Attachment:
    """A file of a JSON body: {filename, content_type, data (base64)}."""
    raw = body.get(name)
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), str):
        raise RequestError(
            f"The field '{name}' must be an object {{filename, content_type, data (base64)}}.",
            zh=f"字段 {name} 须为对象 {{filename, content_type, data (base64)}}",
        )
    no_other_fields(raw, {"filename", "content_type", "data"})
    try:
        data = base64.b64decode(raw["data"], validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(
            f"The file's 'data' in '{name}' is not valid base64.", zh=f"{name} 中文件的 data 不是有效的 base64"
        ) from None
    return Attachment(
        text_field(raw, "filename", required=False) or "file",
        text_field(raw, "content_type", required=False) or "application/octet-stream",
        data,
    )


# -- warranty claim parts ----------------------------------------------------------------------
async def list_warranty_parts(request: web.Request) -> web.Response:
    async with request.app[DB].reader() as s:
        found = await quality_views.warranty_parts(s, scope_for(actor_of(request)), path_text(request, "reference"))
    return web.json_response(found)


async def add_warranty_part(request: web.Request) -> web.Response:
    body = await json_object(request)
    no_other_fields(body, set(PART_TEXTS) | set(PART_NUMBERS))
    texts = {name: text_field(body, name, required=name == "part_number") for name in PART_TEXTS}
    numbers = {
        "quantity_received": int_field(body, "quantity_received", required=False, minimum=1, maximum=MAX_QUANTITY),
        "mileage_km": int_field(body, "mileage_km", required=False, minimum=0, maximum=MAX_MILEAGE_KM),
        "months_in_service": int_field(body, "months_in_service", required=False, minimum=0, maximum=MAX_MONTHS),
        "cost_cents": int_field(body, "cost_cents", required=False, minimum=0, maximum=MAX_COST_CENTS),
    }
    part = PartInput(
        part_number=texts["part_number"],
        quantity_received=numbers["quantity_received"] or 1,
        batch=texts["batch"] or None,
        vin=texts["vin"] or None,
        mileage_km=numbers["mileage_km"],
        months_in_service=numbers["months_in_service"],
        failure_description=texts["failure_description"],
        failure_mode=texts["failure_mode"] or None,
        failure_date=texts["failure_date"] or None,
        production_date=texts["production_date"] or None,
        claim_number=texts["claim_number"] or None,
        received_on=texts["received_on"] or None,
        cost_cents=numbers["cost_cents"],
        currency=texts["currency"] or "CNY",
    )
    reference = await _visible(request)
    part_id = await request.app[CASES].warranty.add(actor_of(request), reference, part)
    return web.json_response({"id": part_id, "reference": reference.strip().upper()}, status=201)


async def add_warranty_evidence(request: web.Request) -> web.Response:
    part_id = path_id(request, "part_id", "warranty part id")
    body = await json_object(request)
    no_other_fields(body, {"file"})
    file = upload(body, "file")
    reference = await _visible(request)
    file_id = await request.app[CASES].warranty.add_evidence(actor_of(request), reference, part_id, file)
    return web.json_response({"id": file_id, "reference": reference.strip().upper()}, status=201)


async def decide_warranty_part(request: web.Request) -> web.Response:
    part_id = path_id(request, "part_id", "warranty part id")
    body = await json_object(request)
    no_other_fields(body, {"decision", "test_results", "capa_deadline"})
    decision = text_field(body, "decision")
    test_results = text_field(body, "test_results")
    deadline = text_field(body, "capa_deadline", required=False) or None
    reference = await _visible(request)
    case = await request.app[CASES].warranty.decide(
        actor_of(request), reference, part_id, decision, test_results, deadline
    )
    request.app[CASES].committed()
    return web.json_response({"reference": case.reference, "state": case.state})


# -- on-site service and its report ------------------------------------------------------------
def _report_ref(report: Any) -> web.Response:
    return web.json_response({"id": report.id, "record_number": report.record_number, "state": report.state})


async def list_service_reports(request: web.Request) -> web.Response:
    tz = request.app[SETTINGS].tz
    async with request.app[DB].reader() as s:
        found = await quality_views.service_reports(
            s, scope_for(actor_of(request)), path_text(request, "reference"), tz
        )
    return web.json_response(found)


async def plan_service(request: web.Request) -> web.Response:
    body = await json_object(request)
    fields = ("engineers", "start", "location", "equipment", "task")
    no_other_fields(body, set(fields))
    values = {name: text_field(body, name, required=name != "equipment") for name in fields}
    reference = await _visible(request)
    report = await request.app[CASES].service_reports.plan(actor_of(request), reference, **values)
    request.app[CASES].committed()
    response = _report_ref(report)
    response.set_status(201)
    return response


async def file_service_report(request: web.Request) -> web.Response:
    report_id = path_id(request, "report_id", "service report id")
    body = await json_object(request)
    no_other_fields(body, set(REPORT_TEXTS) | {"minutes_spent"})
    texts = {
        name: text_field(body, name, required=name in ("work_done", "findings", "result")) for name in REPORT_TEXTS
    }
    minutes = int_field(body, "minutes_spent", minimum=1, maximum=MAX_MINUTES)
    assert minutes is not None  # required
    filed = ReportInput(
        work_done=texts["work_done"],
        findings=texts["findings"],
        result=texts["result"],
        minutes_spent=minutes,
        parts_replaced=texts["parts_replaced"],
        failure_mode=texts["failure_mode"] or None,
    )
    reference = await _visible(request)
    report = await request.app[CASES].service_reports.file_report(actor_of(request), reference, report_id, filed)
    request.app[CASES].committed()
    return _report_ref(report)


async def review_service_report(request: web.Request) -> web.Response:
    report_id = path_id(request, "report_id", "service report id")
    body = await json_object(request)
    no_other_fields(body, {"note"})
    note = text_field(body, "note", required=False)
    reference = await _visible(request)
    report = await request.app[CASES].service_reports.review(actor_of(request), reference, report_id, note)
    request.app[CASES].committed()
    return _report_ref(report)


async def confirm_service_on_paper(request: web.Request) -> web.Response:
    report_id = path_id(request, "report_id", "service report id")
    body = await json_object(request)
    no_other_fields(body, {"confirmed_by", "rating", "note", "scan"})
    confirmed_by, rating = text_field(body, "confirmed_by"), text_field(body, "rating")
    note = text_field(body, "note", required=False)
    scan = upload(body, "scan")
    reference = await _visible(request)
    report = await request.app[CASES].service_reports.confirm_on_paper(
        actor_of(request), reference, report_id, confirmed_by, rating, note, scan
    )
    request.app[CASES].committed()
    return _report_ref(report)


async def service_report_form(request: web.Request) -> web.Response:
    """The report as the paper form: HTML, or PDF through the shared document renderer."""
    report_id = path_id(request, "report_id", "service report id")
    language = query_choice(request, "language", list(LANGUAGES)) or "zh"
    kind = query_choice(request, "format", ["html", "pdf"]) or "html"
    settings = request.app[SETTINGS]
    async with request.app[DB].reader() as s:
        report, case = await quality_views.service_report_form(
            s, scope_for(actor_of(request)), path_text(request, "reference"), report_id, settings.tz
        )
    html = render_service_report(report, case, settings.supplier_name or settings.mail_from_name, language)
    if kind == "pdf":
        pdf = await asyncio.to_thread(render.pdf, html)
        filename = f"{report['record_number']}.pdf"
        return web.Response(
            body=pdf, content_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'}
        )
    return web.Response(
        text=html,
        content_type="text/html",
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def get_quality_file(request: web.Request) -> web.Response:
    """An evidence file or a signed scan, as a download (never rendered from our origin)."""
    file_id = path_id(request, "file_id", "file id")
    async with request.app[DB].reader() as s:
        filename, data = await quality_views.quality_file(
            s, scope_for(actor_of(request)), path_text(request, "reference"), file_id
        )
    return web.Response(
        body=data,
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Disposition": content_disposition(filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, no-store",
        },
    )
