"""Field data (docs/field-data.md): early-warning alerts, the scan, its thresholds, a part's
months-in-service view, and batch traceability."""

from __future__ import annotations

from aiohttp import web

from cases.field import alerts, batches, service_life, thresholds
from kefu.web.api.support import (
    CLOCK,
    DB,
    EARLY_WARNING,
    SETTINGS,
    RequestError,
    actor_of,
    int_field,
    json_object,
    no_other_fields,
    paging,
    path_id,
    path_text,
    query_choice,
    text_field,
)


async def list_warning_alerts(request: web.Request) -> web.Response:
    limit, offset = paging(request)
    open_only = query_choice(request, "open", ["true", "false"]) != "false"
    async with request.app[DB].reader() as s:
        return web.json_response(await alerts.list_alerts(s, open_only, limit, offset))


async def get_warning_alert(request: web.Request) -> web.Response:
    alert_id = path_id(request, "alert_id", "alert id")
    async with request.app[DB].reader() as s:
        return web.json_response(await alerts.alert_detail(s, alert_id))


async def acknowledge_warning_alert(request: web.Request) -> web.Response:
    alert_id = path_id(request, "alert_id", "alert id")
    body = await json_object(request)
    no_other_fields(body, {"decision", "note"})
    decision = text_field(body, "decision")
    note = text_field(body, "note", required=False)
    return web.json_response(await request.app[EARLY_WARNING].acknowledge(actor_of(request), alert_id, decision, note))


async def run_warning_scan(request: web.Request) -> web.Response:
    result = await request.app[EARLY_WARNING].scan()
    return web.json_response(result.as_dict())


async def list_warning_thresholds(request: web.Request) -> web.Response:
    async with request.app[DB].reader() as s:
        items = await thresholds.list_thresholds(s)
    default = {"alpha": thresholds.DEFAULT_ALPHA, "min_count": thresholds.DEFAULT_MIN_COUNT}
    return web.json_response({"items": items, "default": default})


async def put_warning_threshold(request: web.Request) -> web.Response:
    body = await json_object(request)
    no_other_fields(body, {"part_number", "failure_mode", "alpha", "min_count"})
    alpha = body.get("alpha")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float):
        raise RequestError(
            "The field 'alpha' is required (a number above 0 and below 0.5).",
            zh="字段 alpha 为必填项（大于 0 且小于 0.5 的数）",
        )
    min_count = int_field(body, "min_count", minimum=1, maximum=100000)
    assert min_count is not None  # required
    async with request.app[DB].unit_of_work() as s:
        row = await thresholds.put_threshold(
            s,
            actor_of(request),
            text_field(body, "part_number"),
            text_field(body, "failure_mode"),
            float(alpha),
            min_count,
            request.app[CLOCK](),
        )
    return web.json_response(row)


async def months_in_service(request: web.Request) -> web.Response:
    part_number = path_text(request, "part_number")
    today = request.app[CLOCK]().astimezone(request.app[SETTINGS].tz).date()
    async with request.app[DB].reader() as s:
        return web.json_response(await service_life.months_in_service(s, part_number, today))


async def get_batch(request: web.Request) -> web.Response:
    batch = path_text(request, "batch")
    async with request.app[DB].reader() as s:
        return web.json_response(await batches.batch_trace(s, batch))
