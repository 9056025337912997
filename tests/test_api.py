"""The REST API's reading side, authentication, description and quarantine, through the real
aiohttp app on a real migrated database (SQLite file; PostgreSQL when it answers)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from cases.domain.enums import Channel
from cases.domain.intake_message import Attachment
from cases.store.models import ApiToken, InboundMessage, InboundRaw, InboundStatus, User
from kefu.bootstrap import Kefu
from kefu.web.api import routes as api_module
from kefu.web.api.access import ACCESS
from kefu.web.app import create_app, web_services
from tests.apihelpers import Api, api_fixture, assign, open_case  # noqa: F401  (the `api` fixture)

# -- system ---------------------------------------------------------------------------------


NOTHING_WAITING = {
    "inbound_pending": 0,
    "oldest_pending_seconds": None,
    "inbound_quarantined": 0,
    "notices_pending": 0,
    "notices_dead": 0,
}


async def test_health_answers_without_a_token_after_asking_the_database(api: Api) -> None:
    assert await api.call(None, "GET", "/health") == {"status": "ok", "database": "ok", "backlog": NOTHING_WAITING}


async def test_health_shows_what_waits_mail_not_processed_quarantined_and_notices(api: Api) -> None:
    """For the person on call: mail stored but not processed (and since when), the quarantine,
    notices still to send and those given up on."""
    from datetime import timedelta

    from sqlalchemy import update

    from cases.store.models import Delivery, DeliveryStatus, InboundMessage
    from intake.inbox import RawInput

    kefu = api.kefu
    for n in range(3):  # no processor runs here: they stay pending
        await kefu.inbox.put(
            RawInput(channel=Channel.EMAIL, dedupe_key=f"k{n}", raw=f"Subject: {n}\r\n\r\nx\r\n".encode())
        )
    async with kefu.db.unit_of_work() as s:
        first = min((await s.execute(select(InboundMessage.id))).scalars())
        await s.execute(
            update(InboundMessage)
            .where(InboundMessage.id == first)
            .values(status="quarantined", received_at=kefu.clock() - timedelta(hours=2))
        )
        await s.execute(
            update(InboundMessage)
            .where(InboundMessage.id == first + 1)
            .values(received_at=kefu.clock() - timedelta(minutes=5))
        )
    await open_case(kefu, "刹车片异响")  # its acknowledgement is an event, not yet a delivery
    await kefu.dispatcher.run_once()
    async with kefu.db.unit_of_work() as s:
        ids = list((await s.execute(select(Delivery.id).order_by(Delivery.id))).scalars())
        assert ids, "the case's notices were fanned out"
        await s.execute(update(Delivery).where(Delivery.id == ids[0]).values(status=DeliveryStatus.DEAD))
        await s.execute(update(Delivery).where(Delivery.id.in_(ids[1:])).values(status=DeliveryStatus.PENDING))

    waiting = (await api.call(None, "GET", "/health"))["backlog"]
    assert waiting["inbound_pending"] == 2 and waiting["inbound_quarantined"] == 1
    assert 299 <= waiting["oldest_pending_seconds"] <= 330  # the oldest pending one, not the quarantined
    assert (waiting["notices_dead"], waiting["notices_pending"]) == (1, len(ids) - 1)


async def test_health_is_503_when_the_database_does_not_answer(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    @asynccontextmanager
    async def broken() -> AsyncIterator[None]:
        raise ConnectionRefusedError("connection refused")
        yield

    monkeypatch.setattr(api.kefu.db, "reader", broken)
    assert await api.call(None, "GET", "/health", expect=503) == {"status": "unavailable", "database": "unavailable"}


async def test_a_request_without_a_token_is_401_with_a_bearer_challenge(api: Api) -> None:
    resp = await api.client.get("/api/v1/cases")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    error = (await resp.json())["error"]
    assert error["code"] == "unauthorized" and "Authorization: Bearer" in error["message"]


async def test_a_tokens_use_is_written_once_a_minute_not_on_every_request(api: Api) -> None:
    """Reading with a token writes nothing but, now and then, when it was last used: a write
    per request queued every GET behind intake for SQLite's one write lock."""

    async def last_used() -> datetime | None:
        async with api.kefu.db.reader() as s:
            token = (await s.execute(select(ApiToken).join(User).where(User.username == "gm"))).scalar_one()
            return token.last_used_at

    assert await last_used() is None
    await api.call("gm", "GET", "/me")
    first = await last_used()
    assert first is not None
    await api.call("gm", "GET", "/me")
    assert await last_used() == first


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic Z206eA==", "Bearer", "Bearer  "])
async def test_a_bad_or_unknown_token_is_401(api: Api, header: str) -> None:
    resp = await api.client.get("/api/v1/me", headers={"Authorization": header})
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await resp.json())["error"]["code"] in {"unauthorized", "invalid_token"}


async def test_the_api_description_lists_every_registered_route_and_nothing_more(api: Api) -> None:
    doc = await api.call(None, "GET", "/openapi.json")
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "an API token of a staff user",
    }
    registered = {
        (r.resource.canonical, r.method.lower(), r.name)
        for r in create_app(web_services(api.kefu)).router.routes()
        if r.resource is not None and r.resource.canonical.startswith("/api/v1")
    }
    described = {(path, method, op["operationId"]) for path, ops in doc["paths"].items() for method, op in ops.items()}
    assert registered == described
    assert (
        len(registered) == len(api_module.ROUTES) == 18 + 9 + 2 + 1 + 2 + 1 + 18 + 11 + 4 + 8 + 2 + 2 + 3
    )  # + 9: entries and the archive (issue 3); + 2: Telegram deep links (issue 4); + 1: the customer deadline; + 2: set-aside notification events; + 1: clearing a bounce mark (issue 13); + 18: warranty parts, service reports, agreed deadlines (issue 14); + 11: 8D, review team, form, severity rules, failure modes (issue 14); + 4: reports (issue 16); + 8: field data, early warning, batches (issue 16); + 2: a rating given by phone or on site, a message's HTML as a download (issue 13); + 2: Telegram updates set aside and their re-run (issue 17); + 3: the rule tables (issue 15)
    assert {name for _, _, name in registered} == set(ACCESS)  # every route has an access rule


async def test_the_api_description_marks_public_routes_and_documents_bodies(api: Api) -> None:
    doc = await api.call(None, "GET", "/openapi.json")
    assert doc["paths"]["/api/v1/health"]["get"]["security"] == []
    assert "security" not in doc["paths"]["/api/v1/cases"]["get"]  # the global bearer requirement
    approve = doc["paths"]["/api/v1/cases/{reference}/approve"]["post"]
    body = approve["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["department"] and set(body["properties"]) == {
        "department",
        "severity",
        "note",
        "deadline",
    }
    assert {"401", "403", "404", "409", "422"} <= set(approve["responses"])
    assert doc["paths"]["/api/v1/inbound"]["get"]["x-roles"] == ["admin", "quality", "sales"]


async def test_me_tells_the_caller_their_roles_and_department(api: Api) -> None:
    assert await api.call("qe", "GET", "/me") == {
        "username": "qe",
        "display_name": "qe",
        "roles": ["department", "quality"],
        "department": "quality",
    }
    assert (await api.call("nobody", "GET", "/me"))["roles"] == []


async def test_departments_are_listed_with_their_codes(api: Api) -> None:
    items = (await api.call("gm", "GET", "/departments"))["items"]
    assert [d["code"] for d in items][:2] == ["sales", "quality"]
    assert {"code": "quality", "name_zh": "质量部", "name_en": "Quality"} in items


async def test_a_user_without_roles_is_403_with_the_roles_needed(api: Api) -> None:
    error = await api.error("nobody", "GET", "/cases", expect=403)
    assert error["code"] == "forbidden"
    assert "approver" in error["message"] and "your roles: none" in error["message"]


async def test_an_unknown_endpoint_or_method_is_a_json_error(api: Api) -> None:
    assert (await api.error("gm", "GET", "/nothing-here", expect=404))["code"] == "not_found"
    assert (await api.error("gm", "DELETE", "/cases", expect=405))["code"] == "method_not_allowed"


async def test_an_unexpected_failure_is_500_with_a_generic_message_and_is_logged(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def explode(*args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("cases.queries.case_views.list_cases", explode)
    with caplog.at_level(logging.ERROR, logger="kefu.web.app"):
        error = await api.error("gm", "GET", "/cases", expect=500)
    assert error["code"] == "internal_error" and "secret" not in error["message"]
    assert any("secret internals" in (r.exc_text or "") for r in caplog.records)


# -- listing and searching ------------------------------------------------------------------


def _at(day: int) -> datetime:
    return datetime(2026, 3, day, 4, 0, tzinfo=UTC)


async def test_cases_are_listed_newest_first_with_a_total_and_pages(api: Api) -> None:
    refs = [await open_case(api.kefu, f"问题 {i}", received_at=_at(i + 1)) for i in range(3)]
    page = await api.call("gm", "GET", "/cases?limit=2")
    assert page["total"] == 3 and [c["reference"] for c in page["items"]] == [refs[2], refs[1]]
    rest = await api.call("gm", "GET", "/cases?limit=2&offset=2")
    assert rest["total"] == 3 and [c["reference"] for c in rest["items"]] == [refs[0]]
    item = rest["items"][0]
    assert item["state"] == "new" and item["department"] is None and item["received_at"] == "2026-03-01T04:00:00Z"
    assert item["customer_name"] and isinstance(item["customer_id"], int)


async def test_cases_can_be_filtered_by_state_department_type_customer_and_dates(api: Api) -> None:
    brake = await open_case(api.kefu, "刹车片异响", received_at=_at(2))
    claim = await open_case(api.kefu, "三包索赔 申请", received_at=_at(5), sender="li@other.example")
    await assign(api, brake, "quality")

    async def refs(query: str) -> list[str]:
        return [c["reference"] for c in (await api.call("gm", "GET", f"/cases?{query}"))["items"]]

    assert await refs("state=assigned") == [brake]
    assert await refs("state=new") == [claim]
    assert await refs("department=quality") == [brake]
    assert await refs("type=warranty_claim") == [claim]
    case = await api.call("gm", "GET", f"/cases/{brake}")
    # Unknown senders share the one unassigned customer; the filter still works on the id.
    assert set(await refs(f"customer_id={case['customer_id']}")) == {brake, claim}
    assert await refs("customer_id=999999") == []
    assert await refs("received_from=2026-03-03") == [claim]
    assert await refs("received_to=2026-03-02") == [brake]  # a date includes its whole day
    assert await refs("received_from=2026-03-02T05:00:00Z&received_to=2026-03-05T04:00:00%2B00:00") == []


async def test_text_search_looks_in_reference_subject_and_part_number(api: Api) -> None:
    brake = await open_case(api.kefu, "Brake pad NOISE", "零件号：3501-00123\n批次：B2026-1107")
    other = await open_case(api.kefu, "100% 漏油", "零件号：9900-1")

    async def found(q: str) -> list[str]:
        return [c["reference"] for c in (await api.call("gm", "GET", "/cases?" + urlencode({"q": q})))["items"]]

    assert await found("brake pad noise") == [brake]  # case-insensitive
    assert await found("3501-00") == [brake]  # part number
    assert await found(other[-6:]) == [other]  # reference
    assert await found("漏油") == [other]
    assert await found("%") == [other]  # a literal percent sign, not a wildcard
    assert await found("_") == []


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("state=open", "state"),
        ("type=complaint", "type"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        ("customer_id=x", "customer_id"),
        ("received_from=yesterday", "received_from"),
        ("received_to=2026-03-01T10:00:00", "received_to"),
    ],
)
async def test_a_bad_query_parameter_is_400_naming_it(api: Api, query: str, names: str) -> None:
    error = await api.error("gm", "GET", f"/cases?{query}", expect=400)
    assert error["code"] == "bad_request" and f"'{names}'" in error["message"]


async def test_an_unknown_department_filter_names_the_valid_codes(api: Api) -> None:
    error = await api.error("gm", "GET", "/cases?department=qa", expect=422)
    assert "'qa'" in error["message"] and "quality" in error["message"] and "sales" in error["message"]


# -- one case, attachments --------------------------------------------------------------------

PDF = b"%PDF-1.4 <script>alert(1)</script>"
HTML = b"<html><script>alert(document.cookie)</script></html>"


async def test_a_case_shows_its_messages_with_attachment_metadata_but_never_the_html(api: Api) -> None:
    ref = await open_case(
        api.kefu,
        "刹车片异响",
        html="<p>装车后刹车片异响。</p>",
        attachments=(Attachment("检验报告.pdf", "application/pdf", PDF),),
    )
    case = await api.call("sales", "GET", f"/cases/{ref}")
    assert case["reference"] == ref and case["state"] == "new"
    assert case["allowed_actions"] == []  # sales has nothing to do on a new case
    assert (await api.call("gm", "GET", f"/cases/{ref.lower()}"))["allowed_actions"] == ["approve", "no-action"]
    [message] = case["messages"]
    assert message["direction"] == "in" and message["has_html"] is True and "html" not in message
    assert "<p>" not in str(case)
    [att] = message["attachments"]
    assert att["filename"] == "检验报告.pdf" and att["size"] == len(PDF)
    assert att["url"] == f"/api/v1/cases/{ref}/attachments/{att['id']}"
    [opened] = case["history"]
    assert opened["action"] == "opened" and opened["to_state"] == "new" and opened["actor"].startswith("customer:")


async def test_an_unknown_case_is_404(api: Api) -> None:
    error = await api.error("gm", "GET", "/cases/FB-2026-999999", expect=404)
    assert error["code"] == "not_found" and "FB-2026-999999" in error["message"]


async def test_an_attachment_is_served_as_a_download_and_never_rendered(api: Api) -> None:
    ref = await open_case(api.kefu, "附件", attachments=(Attachment('报告 "1".html', "text/html", HTML),))
    att = (await api.call("gm", "GET", f"/cases/{ref}"))["messages"][0]["attachments"][0]
    resp = await api.client.get(att["url"], headers={"Authorization": f"Bearer {api.tokens['gm']}"})
    assert resp.status == 200
    assert await resp.read() == HTML
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E6%8A%A5%E5%91%8A%20%221%22.html" in disposition
    assert 'filename="__ _1_.html"' in disposition  # an ASCII fallback without quotes to break out of


async def test_an_attachment_is_found_only_under_its_own_case(api: Api) -> None:
    with_file = await open_case(api.kefu, "附件", attachments=(Attachment("a.pdf", "application/pdf", PDF),))
    other = await open_case(api.kefu, "另一个")
    att_id = (await api.call("gm", "GET", f"/cases/{with_file}"))["messages"][0]["attachments"][0]["id"]
    await api.error("gm", "GET", f"/cases/{other}/attachments/{att_id}", expect=404)
    await api.error("gm", "GET", f"/cases/{with_file}/attachments/{att_id + 1000}", expect=404)
    assert (await api.error("gm", "GET", f"/cases/{with_file}/attachments/x", expect=400))["code"] == "bad_request"


# -- the quarantine ---------------------------------------------------------------------------


async def _held(kefu: Kefu, status: InboundStatus, key: str, sender: str = "zhang.wei@dfmc-parts.cn") -> int:
    async with kefu.db.unit_of_work() as s:
        row = InboundMessage(
            channel=Channel.EMAIL,
            dedupe_key=key,
            message_id=f"{key}@dfmc-parts.cn",
            envelope_from=sender,
            envelope_to=["service@kefu.example"],
            size=17,
            received_at=_at(1),
            status=status,
            attempts=1,
            reason=f"held by rule: {key}",
            rule_hits=[key],
        )
        s.add(row)
        await s.flush()
        s.add(InboundRaw(inbound_id=row.id, raw=b"Subject: x\r\n\r\nx"))
        return row.id


async def test_the_quarantine_lists_held_and_ignored_mail_with_the_sender_redacted(api: Api) -> None:
    held = await _held(api.kefu, InboundStatus.QUARANTINED, "loop")
    ignored = await _held(api.kefu, InboundStatus.IGNORED, "bounce")
    await _held(api.kefu, InboundStatus.PROCESSED, "fine")
    page = await api.call("qe", "GET", "/inbound")
    assert page["total"] == 2 and [i["id"] for i in page["items"]] == [ignored, held]
    item = page["items"][1]
    assert item == {
        "id": held,
        "channel": "email",
        "status": "quarantined",
        "received_at": "2026-03-01T04:00:00Z",
        "envelope_from": "z***@dfmc-parts.cn",
        "message_id": "loop@dfmc-parts.cn",
        "reason": "held by rule: loop",
        "rule_hits": ["loop"],
        "attempts": 1,
        "size": 17,
    }
    only = await api.call("admin", "GET", "/inbound?status=quarantined")
    assert [i["id"] for i in only["items"]] == [held]
    await api.error("admin", "GET", "/inbound?status=processed", expect=400)


async def test_only_admin_sales_and_quality_see_the_quarantine(api: Api) -> None:
    for who in ("admin", "sales", "qe"):
        await api.call(who, "GET", "/inbound")
    for who, roles in (("gm", "approver"), ("prod", "department")):
        error = await api.error(who, "GET", "/inbound", expect=403)
        assert error["message"] == f"GET /api/v1/inbound needs the role admin, quality or sales; your roles: {roles}."
    inbound_id = await _held(api.kefu, InboundStatus.QUARANTINED, "loop")
    await api.error("prod", "POST", f"/inbound/{inbound_id}/rerun", expect=403)


async def test_a_rerun_puts_held_mail_back_in_the_queue(api: Api) -> None:
    inbound_id = await _held(api.kefu, InboundStatus.QUARANTINED, "loop")
    assert await api.call("sales", "POST", f"/inbound/{inbound_id}/rerun", expect=202) == {
        "id": inbound_id,
        "status": "pending",
    }
    async with api.kefu.db.reader() as s:
        row = await s.get(InboundMessage, inbound_id)
        assert row is not None and row.status == "pending" and row.reason is None
    assert (await api.call("sales", "GET", "/inbound"))["total"] == 0
    error = await api.error("sales", "POST", f"/inbound/{inbound_id}/rerun", expect=409)
    assert error["code"] == "conflict" and "pending" in error["message"]
    assert (await api.error("sales", "POST", "/inbound/424242/rerun", expect=404))["code"] == "not_found"


async def test_set_aside_notification_events_are_listed_and_fanned_out_again(api: Api) -> None:
    from cases.store.models import OutboxEvent
    from tests.test_dispatch_batch import _cases, _Transport

    api.kefu.dispatcher.transport = _Transport()
    await _cases(api.kefu, 1)
    async with api.kefu.db.unit_of_work() as s:
        event = (await s.execute(select(OutboxEvent))).scalar_one()
        event.kind = "no_such_event"
    await api.kefu.dispatcher.run_once()
    page = await api.call("qe", "GET", "/notifications/set-aside")
    assert page["total"] == 1
    item = page["items"][0]
    assert (item["id"], item["kind"], item["case"]) == (event.id, "no_such_event", "FB-2026-000001")
    assert item["error"].startswith("ValueError")
    await api.error("prod", "GET", "/notifications/set-aside", expect=403)

    async with api.kefu.db.unit_of_work() as s:  # the fix: say, a newer version knows the event
        (await s.get(OutboxEvent, event.id)).kind = "case_opened"  # type: ignore[union-attr]
    assert await api.call("sales", "POST", f"/notifications/set-aside/{event.id}/rerun", expect=202) == {
        "id": event.id,
        "status": "pending",
    }
    assert await api.kefu.dispatcher.run_once() == 2  # now: the acknowledgement and the approver's notice
    assert (await api.call("sales", "GET", "/notifications/set-aside"))["total"] == 0
    error = await api.error("sales", "POST", f"/notifications/set-aside/{event.id}/rerun", expect=409)
    assert error["code"] == "conflict"
    assert (await api.error("sales", "POST", "/notifications/set-aside/424242/rerun", expect=404))[
        "code"
    ] == "not_found"
    bad = await api.error("sales", "POST", "/notifications/set-aside/abc/rerun", expect=400)
    assert bad["message"] == "The event id must be a whole number, got 'abc'."
    bad = await api.error("sales", "POST", "/inbound/abc/rerun", expect=400)
    assert bad["message"] == "The inbound message id must be a whole number, got 'abc'."
