"""Staff-logged entries over the API: POST /entries/{phone|letter|visit|survey}.

A JSON object, or multipart/form-data with the same object in a part named `entry` and a
scanned letter in a file part named `attachment`. 201 with the new case; a form token seen
before answers 200 with the case the first submit opened.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import BodyPartReader, MultipartReader, web

from cases.domain.enums import Channel
from cases.domain.intake_message import Attachment
from cases.domain.uploads import MAX_ATTACHMENT_BYTES, safe_filename
from cases.services.entries import ENTRY_KINDS, EntryInput
from kefu.web.api.support import (
    CLOCK,
    ENTRIES,
    MAX_QUANTITY,
    SETTINGS,
    RequestError,
    actor_of,
    int_field,
    json_object,
    no_other_fields,
    refuse_nul,
    text_field,
    whole_number,
)

FIELDS = {
    "customer",
    "contact",
    "caller",
    "at",
    "subject",
    "description",
    "type",
    "part_number",
    "batch",
    "quantity",
    "reply_channel",
    "language",
    "form_token",
    "attachment",
}
CALLER_FIELDS = {"number", "name", "email"}


def parse_at(raw: Any, tz: ZoneInfo) -> datetime | None:
    """ISO 8601 (`2026-11-30T14:05:00+08:00`, `2026-11-30 14:05`); without an offset: the company's zone."""
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise RequestError(
            "The field 'at' must be a string: an ISO 8601 time such as 2026-11-30 14:05.",
            zh="字段 at 须为字符串：ISO 8601 时间，例如 2026-11-30 14:05",
        )
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise RequestError(
            f"The field 'at' must be an ISO 8601 time such as 2026-11-30 14:05, got {raw!r}.",
            zh=f"字段 at 须为 ISO 8601 时间，例如 2026-11-30 14:05，实际为 {raw!r}",
        ) from None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def _caller(body: dict[str, Any]) -> dict[str, str]:
    caller = body.get("caller")
    if caller is None:
        return {}
    if isinstance(caller, str):
        return {"number": caller}
    if not isinstance(caller, dict):
        raise RequestError(
            "The field 'caller' must be a phone number or an object {number, name, email}.",
            zh="字段 caller 须为电话号码或对象 {number, name, email}",
        )
    no_other_fields(caller, CALLER_FIELDS)
    return {k: text_field(caller, k) for k in CALLER_FIELDS if caller.get(k) is not None}


def _customer(raw: Any) -> str | int | None:
    """An id (a number, bounded here), or a text: a code, a name, or an id as digits (the
    service looks it up; one that cannot be an id is "no such customer", a 422)."""
    if raw is None or isinstance(raw, str):
        return raw
    return whole_number(raw, "The field 'customer' (a customer id)")


def _attachment_from_json(raw: Any) -> Attachment | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), str):
        raise RequestError(
            "The field 'attachment' must be an object {filename, content_type, data (base64)}.",
            zh="字段 attachment 须为对象 {filename, content_type, data (base64)}",
        )
    no_other_fields(raw, {"filename", "content_type", "data"})
    try:
        data = base64.b64decode(raw["data"], validate=True)
    except (binascii.Error, ValueError):
        raise RequestError("The attachment's 'data' is not valid base64.", zh="附件的 data 不是有效的 base64") from None
    return Attachment(
        safe_filename(text_field(raw, "filename", required=False) or "letter.pdf"),
        (text_field(raw, "content_type", required=False) or "application/octet-stream")[:120],
        data,
    )


async def _multipart(request: web.Request) -> tuple[dict[str, Any], Attachment | None]:
    try:
        body, attachment = await _parts(await request.multipart())
    except ValueError as exc:  # aiohttp's word for a body it cannot split (no boundary, a bad header)
        raise RequestError(
            f"The multipart body cannot be read ({exc}).", zh=f"无法读取 multipart 请求体（{exc}）"
        ) from None
    if not isinstance(body, dict):
        raise RequestError(
            "A multipart entry needs a part named 'entry' holding a JSON object.",
            zh="multipart 登记须有一个名为 entry、内容为 JSON 对象的部分",
        )
    refuse_nul(body)
    return body, attachment


async def _parts(reader: MultipartReader) -> tuple[Any, Attachment | None]:
    body: Any = None
    attachment: Attachment | None = None
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "entry":
            try:
                body = json.loads(await part.text())
            except ValueError as exc:
                raise RequestError(
                    f"The part 'entry' is not valid JSON ({exc}).", zh=f"entry 部分不是有效的 JSON（{exc}）"
                ) from None
        elif part.name == "attachment":
            data = await part.read()
            if len(data) > MAX_ATTACHMENT_BYTES:
                raise RequestError(
                    f"The attachment is larger than {MAX_ATTACHMENT_BYTES} bytes.",
                    zh=f"附件超过 {MAX_ATTACHMENT_BYTES} 字节",
                )
            attachment = Attachment(
                safe_filename(part.filename or "letter.pdf"),
                (part.headers.get("Content-Type") or "application/octet-stream")[:120],
                bytes(data),
            )
    return body, attachment


async def log_entry(request: web.Request) -> web.Response:
    kind_raw = request.match_info["kind"]
    kind = next((k for k in ENTRY_KINDS if k.value == kind_raw), None)
    if kind is None:
        raise RequestError(
            f"There is no entry kind {kind_raw!r}; one of: {', '.join(k.value for k in ENTRY_KINDS)}.",
            zh=f"没有登记类型 {kind_raw!r}；可选：{', '.join(k.value for k in ENTRY_KINDS)}",
        )
    if request.content_type.startswith("multipart/"):
        body, attachment = await _multipart(request)
    else:
        body = await json_object(request)
        attachment = None
    no_other_fields(body, FIELDS)
    attachment = attachment or _attachment_from_json(body.get("attachment"))
    caller = _caller(body)
    customer = _customer(body.get("customer"))
    contact = int_field(body, "contact", required=False)
    quantity = int_field(body, "quantity", required=False, minimum=0, maximum=MAX_QUANTITY)
    entry = EntryInput(
        kind=Channel(kind),
        at=parse_at(body.get("at"), request.app[SETTINGS].tz) or request.app[CLOCK](),
        subject=text_field(body, "subject", required=False),
        description=text_field(body, "description", required=False),
        customer=customer,
        contact_id=contact,
        caller_number=caller.get("number"),
        caller_name=caller.get("name", ""),
        caller_email=caller.get("email"),
        type=text_field(body, "type", required=False) or None,
        part_number=text_field(body, "part_number", required=False) or None,
        batch=text_field(body, "batch", required=False) or None,
        quantity=quantity,
        reply_channel=text_field(body, "reply_channel", required=False) or None,
        language=text_field(body, "language", required=False) or None,
        form_token=text_field(body, "form_token", required=False) or None,
        attachments=(attachment,) if attachment else (),
    )
    result = await request.app[ENTRIES].log_entry(actor_of(request), entry)
    return web.json_response(
        {
            "reference": result.reference,
            "created": result.created,
            "customer_id": result.customer_id,
            "contact_id": result.contact_id,
        },
        status=201 if result.created else 200,
    )
