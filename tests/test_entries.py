"""Staff-logged phone calls, letters, visits and surveys, and one customer archive across
channels, through the real app (aiohttp test client) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy

import aiohttp
import pytest

from cases.archive.admin import ArchiveService
from tests.apihelpers import Api, api_fixture, open_case  # noqa: F401  (the `api` fixture)


async def _customer(
    api: Api, name: str, code: str, *identities: tuple[str, str], contact: str = "王军"
) -> tuple[int, int]:
    customer = await api.call("sales", "POST", "/customers", {"name": name, "code": code}, expect=201)
    made = await api.call(
        "sales",
        "POST",
        f"/customers/{customer['id']}/contacts",
        {"name": contact, "preferred_channel": "phone", "identities": [{"kind": k, "value": v} for k, v in identities]},
        expect=201,
    )
    return customer["id"], made["id"]


async def _walk_to_reply(api: Api, ref: str) -> None:
    assert await api.step("gm", ref, "approve", department="quality") == "assigned"
    assert await api.step("qe", ref, "analysis", analysis="摩擦片批次偏差") == "analysed"
    assert await api.step("qe", ref, "measures", measures="更换批次") == "measures_taken"
    assert await api.step("qe", ref, "verify", verification="复测合格") == "verified"
    assert (
        await api.step("sales", ref, "reply", message="已更换并加严检验，请确认是否满意。") == "awaiting_satisfaction"
    )


def _sent(api: Api) -> list[tuple[list[str], email.message.EmailMessage]]:
    return [
        (m.recipients, email.message_from_bytes(m.data, policy=email.policy.default))
        for m in api.kefu.dispatcher.transport.sent  # type: ignore[attr-defined]
    ]


async def test_a_logged_phone_call_is_a_case_of_the_callers_customer_at_the_time_of_the_call(api: Api) -> None:
    customer_id, contact_id = await _customer(api, "东风零部件", "DFMC", ("phone", "027-8456 1234"))
    detail = await api.call("gm", "GET", f"/customers/{customer_id}")
    assert detail["contacts"][0]["identities"][0]["value"] == "+862784561234"  # stored as E.164

    made = await api.call(
        "sales",
        "POST",
        "/entries/phone",
        {
            "customer": "dfmc",
            "caller": {"number": "+86 27 8456 1234", "name": "王军"},
            "at": "2026-11-30 14:05",
            "subject": "刹车片异响",
            "description": "客户来电：装车后刹车片异响，约40件。",
            "type": "quality_complaint",
            "part_number": "3501-00123",
            "batch": "B2026-1107",
            "quantity": 40,
            "reply_channel": "phone",
        },
        expect=201,
    )
    assert made["created"] is True and made["customer_id"] == customer_id and made["contact_id"] == contact_id

    case = await api.call("gm", "GET", f"/cases/{made['reference']}")
    assert case["channel"] == "phone" and case["customer_name"] == "东风零部件"
    assert case["received_at"] == "2026-11-30T06:05:00Z"  # 14:05 in Asia/Shanghai
    assert (case["part_number"], case["batch"], case["quantity"]) == ("3501-00123", "B2026-1107", 40)
    assert case["reply_channel"] == "phone" and case["contact"]["id"] == contact_id
    assert case["messages"][0]["body"] == "客户来电：装车后刹车片异响，约40件。"
    logged = [h for h in case["history"] if h["action"] == "logged"]
    assert len(logged) == 1 and logged[0]["actor"] == "sales"  # the staff member
    assert "2026-11-30 14:05" in logged[0]["note"]
    # The same archive: the customer's cases list shows it.
    listed = await api.call("gm", "GET", f"/cases?customer_id={customer_id}")
    assert [c["reference"] for c in listed["items"]] == [made["reference"]]


async def test_letters_with_a_scan_and_visits_by_multipart_land_with_the_same_customer(api: Api) -> None:
    customer_id, _ = await _customer(api, "一汽配套", "FAW", ("phone", "0431-8590 1234"))
    scan = b"%PDF-1.4 fake scanned letter"
    letter = await api.call(
        "sales",
        "POST",
        "/entries/letter",
        {
            "customer": customer_id,
            "caller": {"name": "王军"},
            "at": "2026-11-28T09:00:00+08:00",
            "subject": "来函：索赔",
            "description": "三包索赔件 12 件",
            "attachment": {
                "filename": "../../letter.pdf",
                "content_type": "application/pdf",
                "data": base64.b64encode(scan).decode(),
            },
        },
        expect=201,
    )
    form = aiohttp.FormData()
    form.add_field(
        "entry",
        '{"customer": "一汽配套", "caller": "0431 8590 1234", "at": "2026-11-29 10:30", '
        '"subject": "现场拜访", "description": "现场服务：检查装配工艺"}',
        content_type="application/json",
    )
    form.add_field("attachment", b"visit report", filename="report.txt", content_type="text/plain")
    resp = await api.client.post(
        "/api/v1/entries/visit", data=form, headers={"Authorization": f"Bearer {api.tokens['sales']}"}
    )
    visit = await resp.json()
    assert resp.status == 201, visit

    assert letter["customer_id"] == visit["customer_id"] == customer_id
    assert letter["contact_id"] == visit["contact_id"]  # by name, then by the normalised number
    letter_case = await api.call("gm", "GET", f"/cases/{letter['reference']}")
    assert letter_case["channel"] == "letter" and letter_case["received_at"] == "2026-11-28T01:00:00Z"
    att = letter_case["messages"][0]["attachments"][0]
    assert att["filename"] == "letter.pdf" and att["size"] == len(scan)
    visit_case = await api.call("gm", "GET", f"/cases/{visit['reference']}")
    assert visit_case["channel"] == "visit" and visit_case["received_at"] == "2026-11-29T02:30:00Z"
    assert visit_case["type"] == "onsite_service"  # guessed from the words, as for mail
    assert visit_case["messages"][0]["attachments"][0]["filename"] == "report.txt"
    # Staff may name the contact; it must be the customer's.
    survey = await api.call(
        "sales",
        "POST",
        "/entries/survey",
        {"customer": "FAW", "contact": letter["contact_id"], "subject": "年度满意度调查：满意"},
        expect=201,
    )
    assert survey["contact_id"] == letter["contact_id"]
    other, _ = await _customer(api, "别的客户", "OTHER", contact="李四")
    await api.error(
        "sales",
        "POST",
        "/entries/survey",
        {"customer": other, "contact": letter["contact_id"], "subject": "x"},
        expect=409,
    )


async def test_a_double_submit_of_one_form_makes_one_case(api: Api) -> None:
    body = {
        "customer": "新客户有限公司",
        "caller": "13800138000",
        "subject": "咨询安装说明书",
        "at": "2026-11-30T08:00:00Z",
        "form_token": "form-7f3a",
    }
    first = await api.call("sales", "POST", "/entries/phone", body, expect=201)
    again = await api.call("sales", "POST", "/entries/phone", body, expect=200)
    assert again == {**first, "created": False}
    # Two submits at the same moment: the unique form token still makes one case.
    body2 = {**body, "form_token": "form-8b2c"}
    both = await asyncio.gather(
        *(
            api.client.post(
                "/api/v1/entries/phone", json=body2, headers={"Authorization": f"Bearer {api.tokens['sales']}"}
            )
            for _ in range(2)
        )
    )
    answers = [(r.status, (await r.json())["reference"]) for r in both]
    assert sorted(s for s, _ in answers) == [200, 201] and answers[0][1] == answers[1][1]
    listed = await api.call("gm", "GET", f"/cases?customer_id={first['customer_id']}")
    assert listed["total"] == 2


async def test_entries_refuse_the_wrong_role_kind_time_and_number(api: Api) -> None:
    body = {"caller": "13800138000", "subject": "来电"}
    assert (await api.error("qe", "POST", "/entries/phone", body, expect=403))["code"] == "forbidden"
    assert (await api.error("sales", "POST", "/entries/telex", body, expect=400))["code"] == "bad_request"
    err = await api.error("sales", "POST", "/entries/phone", {**body, "at": "2099-01-01 10:00"}, expect=422)
    assert "future" in err["message"]
    err = await api.error("sales", "POST", "/entries/phone", {**body, "caller": "12"}, expect=422)
    assert "telephone number" in err["message"]
    await api.error("sales", "POST", "/entries/phone", {"caller": "13800138000"}, expect=422)  # nothing said
    await api.error("sales", "POST", "/entries/phone", {**body, "colour": "red"}, expect=400)
    await api.call(
        "admin", "POST", "/entries/survey", {"customer": "调查客户", "subject": "满意度调查：一般"}, expect=201
    )


async def test_a_phone_customer_with_an_email_gets_the_reply_by_email(api: Api) -> None:
    await _customer(api, "东风零部件", "DFMC", ("phone", "027-8456 1234"), ("email", "Wang.Jun@DFMC-parts.cn"))
    made = await api.call(
        "sales",
        "POST",
        "/entries/phone",
        {"customer": "DFMC", "caller": "027 84561234", "subject": "刹车片异响", "at": "2026-11-30 14:05"},
        expect=201,
    )
    await _walk_to_reply(api, made["reference"])
    await api.kefu.dispatcher.run_once()
    to_customer = [m for rcpts, m in _sent(api) if rcpts == ["wang.jun@dfmc-parts.cn"]]
    assert [m["Subject"] for m in to_customer if "已更换" in m.get_content()], "the reply went by email"
    case = await api.call("gm", "GET", f"/cases/{made['reference']}")
    assert "callback_needed" not in [h["action"] for h in case["history"]]


async def test_a_customer_with_only_a_phone_gets_a_sales_callback_task_instead_of_nothing(api: Api) -> None:
    await _customer(api, "长安配套", "CA", ("phone", "023-6789 0000"))
    made = await api.call(
        "sales",
        "POST",
        "/entries/phone",
        {"customer": "CA", "caller": "023 67890000", "subject": "异响", "at": "2026-11-30 09:00"},
        expect=201,
    )
    await _walk_to_reply(api, made["reference"])
    await api.kefu.dispatcher.run_once()
    case = await api.call("gm", "GET", f"/cases/{made['reference']}")
    callbacks = [h for h in case["history"] if h["action"] == "callback_needed"]
    assert len(callbacks) == 1 and "+862367890000" in callbacks[0]["note"] and "call back" in callbacks[0]["note"]
    sales = [m for rcpts, m in _sent(api) if rcpts == ["sales@supplier.example"] and "需回电客户" in m["Subject"]]
    assert len(sales) == 1 and "+862367890000" in sales[0].get_content()
    assert not [r for r, _ in _sent(api) if any("+86" in x for x in r)]  # nothing "sent" to a number


async def test_contacts_and_customers_merge_and_unmerge_round_trip(api: Api) -> None:
    a_customer, a_contact = await _customer(api, "东风零部件", "DFMC", ("phone", "027-8456 1234"))
    # The same person wrote an email before staff knew them: a contact of the unassigned pool.
    mailed = await open_case(api.kefu, "刹车片异响", sender="wang.jun@dfmc-parts.cn")
    mail_case = await api.call("gm", "GET", f"/cases/{mailed}")
    b_contact, b_customer = mail_case["contact"]["id"], mail_case["customer_id"]
    phoned = await api.call(
        "sales",
        "POST",
        "/entries/phone",
        {"customer": "DFMC", "caller": "027 84561234", "subject": "来电", "at": "2026-11-30 10:00"},
        expect=201,
    )

    merge = await api.call(
        "sales", "POST", "/merges", {"kind": "contact", "source": b_contact, "target": a_contact}, expect=201
    )
    assert merge["moved"] == {"identities": 1, "cases": 1}
    moved = await api.call("gm", "GET", f"/cases/{mailed}")
    assert moved["customer_id"] == a_customer and moved["contact"]["id"] == a_contact
    assert moved["history"][-1]["action"] == "archive_merged" and moved["history"][-1]["actor"] == "sales"
    assert len((await api.call("gm", "GET", f"/cases?customer_id={a_customer}"))["items"]) == 2  # one archive
    # The next mail of that address now lands with the merged contact.
    later = await open_case(api.kefu, "再次异响", sender="wang.jun@dfmc-parts.cn")
    assert (await api.call("gm", "GET", f"/cases/{later}"))["customer_id"] == a_customer

    undone = await api.call("sales", "POST", f"/merges/{merge['id']}/undo")
    assert undone["undone"] is True and undone["moved"] == {"identities": 1, "cases": 1}
    back = await api.call("gm", "GET", f"/cases/{mailed}")
    assert back["customer_id"] == b_customer and back["contact"]["id"] == b_contact
    assert back["history"][-1]["action"] == "archive_unmerged"
    assert (await api.call("gm", "GET", f"/cases/{phoned['reference']}"))["contact"]["id"] == a_contact
    await api.error("sales", "POST", f"/merges/{merge['id']}/undo", expect=409)

    # Two customers: contacts and cases move, and back.
    c_customer, c_contact = await _customer(api, "东风零部件（武汉）", "DFMC-WH", ("fax", "027 8456 9999"))
    merged = await api.call(
        "sales", "POST", "/merges", {"kind": "customer", "source": a_customer, "target": c_customer}, expect=201
    )
    assert merged["moved"] == {"contacts": 1, "cases": 2}  # the call, and the mail that came while merged
    assert (await api.call("gm", "GET", f"/cases/{phoned['reference']}"))["customer_id"] == c_customer
    await api.call("sales", "POST", f"/merges/{merged['id']}/undo")
    assert (await api.call("gm", "GET", f"/cases/{phoned['reference']}"))["customer_id"] == a_customer
    assert [c["id"] for c in (await api.call("gm", "GET", f"/customers/{a_customer}"))["contacts"]] == [a_contact]
    assert (
        await api.error(
            "sales", "POST", "/merges", {"kind": "customer", "source": b_customer, "target": c_customer}, expect=422
        )
    )["code"] == "invalid_input"
    # A contact of the unassigned pool (an unknown fax number) is moved to its customer, and back.
    fax_mail = await open_case(api.kefu, "传真投诉", sender="unknown.sender@example.cn")
    loose = (await api.call("gm", "GET", f"/cases/{fax_mail}"))["contact"]["id"]
    moved = (await api.call("sales", "PATCH", f"/contacts/{loose}", {"customer_id": c_customer}))["move"]
    assert moved["kind"] == "contact_move" and moved["moved"] == {"contacts": 1, "cases": 1}
    assert (await api.call("gm", "GET", f"/cases/{fax_mail}"))["customer_id"] == c_customer
    await api.call("sales", "POST", f"/merges/{moved['id']}/undo")
    assert (await api.call("gm", "GET", f"/cases/{fax_mail}"))["customer_id"] == b_customer
    assert c_contact


async def test_identities_are_attached_once_and_preferences_apply_to_open_cases(api: Api) -> None:
    _, contact = await _customer(api, "东风零部件", "DFMC", ("phone", "027-8456 1234"))
    made = await api.call(
        "sales",
        "POST",
        "/entries/phone",
        {"customer": "DFMC", "caller": "02784561234", "subject": "来电", "at": "2026-11-30 10:00"},
        expect=201,
    )
    added = await api.call(
        "sales", "POST", f"/contacts/{contact}/identities", {"kind": "fax", "value": "(027) 8456 1235"}, expect=201
    )
    assert added["value"] == "+862784561235"
    _, other = await _customer(api, "别的客户", "OTHER", contact="李四")
    err = await api.error(
        "sales", "POST", f"/contacts/{other}/identities", {"kind": "phone", "value": "027-8456 1234"}, expect=409
    )
    assert "merge" in err["message"]
    await api.call("sales", "PATCH", f"/contacts/{contact}", {"preferred_channel": "email", "language": "en"})
    case = await api.call("gm", "GET", f"/cases/{made['reference']}")
    assert case["reply_channel"] == "email" and case["history"][-1]["action"] == "reply_channel"
    await api.error("sales", "PATCH", f"/contacts/{contact}", {"preferred_channel": "pigeon"}, expect=422)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_archive_service_refuses_merging_into_itself(kefu) -> None:  # type: ignore[no-untyped-def]
    from cases.domain.actors import Actor
    from cases.domain.errors import InvalidInput

    archive: ArchiveService = kefu.archive
    customer = await archive.create_customer("甲", "A")
    with pytest.raises(InvalidInput):
        await archive.merge(Actor("sales"), "customer", customer, customer)
