"""The sales desk keeps the archive from the console: a new customer, a contact added and
edited, an identity added (refused ones told in Chinese or English on the page), the service
agreement changed; every form carries the CSRF token, and a post by anyone else is refused 403
and changes nothing. SQLite and PostgreSQL (the `kefu` fixture)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from cases.domain.enums import Channel, Language
from cases.store.models import AgreementTerm, Contact, Customer, Identity
from tests.consolehelpers import Browser, Console, console_fixture  # noqa: F401


async def _counts(console: Console) -> tuple[int, ...]:
    async with console.kefu.db.reader() as s:
        return tuple(
            [(await s.execute(select(func.count()).select_from(m))).scalar_one() for m in (Customer, Contact, Identity)]
            + [(await s.execute(select(func.count()).select_from(AgreementTerm))).scalar_one()]
        )


async def _new_customer(b: Browser) -> int:
    page = await b.get("/customers")
    assert 'id="form-new-customer"' in page
    resp = await b.post("/customers", {"name": "东风零部件有限公司", "code": "dfmc", "language": "zh"})
    assert resp.status == 303, await resp.text()
    found = re.fullmatch(r"/customers/(\d+)\?done=created", resp.headers["Location"])
    assert found
    return int(found.group(1))


async def test_sales_create_a_customer_add_and_edit_a_contact_and_its_identities(console: Console) -> None:
    b = await console.browser("sales")
    customer = await _new_customer(b)
    page = await b.get(f"/customers/{customer}?done=created")
    assert "客户已创建" in page and "DFMC" in page
    # a second customer with the same code: refused on the list page, nothing made
    before = await _counts(console)
    await b.get("/customers")
    resp = await b.post("/customers", {"name": "又一个", "code": "DFMC", "language": "zh"})
    assert resp.status == 409 and "DFMC" in await resp.text() and await _counts(console) == before
    # a contact
    await b.get(f"/customers/{customer}")
    resp = await b.post(
        f"/customers/{customer}/contacts", {"name": "王工", "preferred_channel": "phone", "language": "zh"}
    )
    assert resp.status == 303 and "done=contact_added" in resp.headers["Location"]
    async with console.kefu.db.reader() as s:
        contact = (await s.execute(select(Contact).where(Contact.customer_id == customer))).scalar_one()
    assert (contact.name, contact.preferred_channel, contact.language) == ("王工", Channel.PHONE, Language.ZH)
    page = await b.get(f"/customers/{customer}")
    assert "联系人已添加" not in page  # the message goes with ?done only
    assert f'id="form-contact-{contact.id}"' in page and f'id="form-identity-{contact.id}"' in page
    # edited: name, reply channel, language
    resp = await b.post(
        f"/customers/{customer}/contacts/{contact.id}",
        {"name": "王建国", "preferred_channel": "email", "language": "en"},
    )
    assert resp.status == 303 and "done=contact_saved" in resp.headers["Location"]
    async with console.kefu.db.reader() as s:
        edited = await s.get(Contact, contact.id)
    assert edited and (edited.name, edited.preferred_channel, edited.language) == ("王建国", Channel.EMAIL, Language.EN)
    # identities of each kind, stored as the archive stores them
    for kind, value in (
        ("email", "Wang@DFMC.cn"),
        ("phone", "138 0013 8000"),
        ("fax", "027-8456 1234"),
        ("telegram", "wang_dfmc"),
    ):
        await b.get(f"/customers/{customer}")
        resp = await b.post(f"/customers/{customer}/contacts/{contact.id}/identities", {"kind": kind, "value": value})
        assert resp.status == 303 and "done=identity_added" in resp.headers["Location"], kind
    page = await b.get(f"/customers/{customer}?done=identity_added")
    assert "联系方式已添加" in page
    for stored in ("wang@dfmc.cn", "+8613800138000", "+862784561234", "wang_dfmc"):
        assert stored in page
    # a contact of another customer is not reached through this one's page
    other = await console.kefu.archive.create_customer("Bosch Automotive", "BOSCH")
    stranger = await console.kefu.archive.create_contact(other, "Hans", "en", "email")
    resp = await b.post(f"/customers/{customer}/contacts/{stranger}", {"name": "x", "preferred_channel": "email"})
    assert resp.status == 404


async def test_a_refused_identity_is_told_on_the_page_in_the_readers_language(console: Console) -> None:
    archive = console.kefu.archive
    customer = await archive.create_customer("东风零部件有限公司", "DFMC", "zh")
    wang = await archive.create_contact(customer, "王工", "zh", "phone", [("phone", "138 0013 8000")])
    li = await archive.create_contact(customer, "李经理", "zh", "email")
    b = await console.browser("sales")
    before = await _counts(console)
    cases = [
        (
            {"kind": "email", "value": "not an address"},
            422,
            "“not an address”不是电子邮件地址",
            "is not an email address",
        ),
        ({"kind": "phone", "value": "12"}, 422, "“12”不是可用的电话号码", "is not a phone number kefu can use"),
        ({"kind": "fax", "value": ""}, 422, "请填写传真", "Please fill in the fax"),
        ({"kind": "email", "value": "a@" + "x" * 300}, 422, "最多 254 个字符", "at most 254 characters"),
        ({"kind": "phone", "value": "13800138000"}, 409, f"已属于联系人 #{wang}", f"belongs to contact #{wang}"),
    ]
    for language in ("zh", "en"):
        if language == "en":
            await b.get("/account")
            assert (await b.post("/account/language", {"language": "en"})).status == 303
        for form, status, zh, en in cases:
            await b.get(f"/customers/{customer}")
            resp = await b.post(f"/customers/{customer}/contacts/{li}/identities", form)
            page = await resp.text()
            assert resp.status == status, (form, page[:500])
            assert (zh if language == "zh" else en) in page, (language, form)
            if form["value"] and len(form["value"]) < 50:  # what was typed is there to correct
                assert f'value="{form["value"]}"' in page
    assert await _counts(console) == before


async def test_sales_change_the_service_agreement_and_an_empty_step_keeps_the_default(console: Console) -> None:
    customer = await console.kefu.archive.create_customer("东风零部件有限公司", "DFMC", "zh")
    b = await console.browser("sales")
    page = await b.get(f"/customers/{customer}")
    assert 'id="form-agreement"' in page
    resp = await b.post(
        f"/customers/{customer}/agreement",
        {"amount_first_answer": "4", "unit_first_answer": "h", "amount_root_cause": "5", "unit_root_cause": "wd"},
    )
    assert resp.status == 303 and "done=agreement_saved" in resp.headers["Location"]
    page = await b.get(f"/customers/{customer}?done=agreement_saved")
    assert "服务协议已保存" in page and "首次答复: 4 小时" in page
    assert 'name="amount_first_answer" inputmode="numeric" value="4"' in page  # the form shows the agreed terms
    async with console.kefu.db.reader() as s:
        terms = {(t.step, t.amount, t.unit) for t in (await s.execute(select(AgreementTerm))).scalars()}
    assert terms == {("first_answer", 4, "h"), ("root_cause", 5, "wd")}
    # refused: a word for an amount, an amount past the limit; nothing changes
    for form in ({"amount_closure": "soon", "unit_closure": "d"}, {"amount_closure": "999", "unit_closure": "d"}):
        await b.get(f"/customers/{customer}")
        resp = await b.post(f"/customers/{customer}/agreement", form)
        assert resp.status == 422 and "未执行" in await resp.text()
    async with console.kefu.db.reader() as s:
        assert len((await s.execute(select(AgreementTerm))).scalars().all()) == 2
    # all empty: the defaults again
    await b.get(f"/customers/{customer}")
    assert (await b.post(f"/customers/{customer}/agreement", {})).status == 303
    async with console.kefu.db.reader() as s:
        assert (await s.execute(select(func.count()).select_from(AgreementTerm))).scalar_one() == 0


async def test_other_roles_and_forged_posts_are_refused_and_change_nothing(console: Console) -> None:
    archive = console.kefu.archive
    customer = await archive.create_customer("东风零部件有限公司", "DFMC", "zh")
    wang = await archive.create_contact(customer, "王工", "zh", "phone", [("phone", "138 0013 8000")])
    posts = [
        ("/customers", {"name": "伪造", "code": "FAKE"}),
        (f"/customers/{customer}/contacts", {"name": "伪造"}),
        (f"/customers/{customer}/contacts/{wang}", {"name": "伪造", "preferred_channel": "email", "language": "en"}),
        (f"/customers/{customer}/contacts/{wang}/identities", {"kind": "email", "value": "fake@example.com"}),
        (f"/customers/{customer}/agreement", {"amount_closure": "1", "unit_closure": "d"}),
    ]
    before = await _counts(console)
    for who in ("gm", "qe", "prod"):  # approvers and quality read the archive; they do not keep it
        b = await console.browser(who)
        page = await b.get("/")
        if who != "prod":
            page = await b.get(f"/customers/{customer}")
            assert "form-contact-" not in page and "form-agreement" not in page and "form-identity-" not in page
            assert "form-new-customer" not in await b.get("/customers")
        for path, form in posts:
            resp = await b.post(path, form)
            assert resp.status == 403, (who, path, resp.status)
    # the sales desk, without the form's token: refused too
    sales = await console.browser("sales")
    await sales.get(f"/customers/{customer}")
    for path, form in posts:
        resp = await sales.post(path, form, csrf=False)
        assert resp.status == 403, (path, resp.status)
        resp = await sales.client.post(path, data={**form, "csrf_token": "forged"}, headers=sales.headers)
        assert resp.status == 403, (path, resp.status)
    assert await _counts(console) == before
    async with console.kefu.db.reader() as s:
        assert (await s.get(Contact, wang)).name == "王工"  # type: ignore[union-attr]


async def test_the_forms_render_in_english_with_the_strict_policy(console: Console) -> None:
    customer = await console.kefu.archive.create_customer("Bosch Automotive", "BOSCH", "en")
    await console.kefu.archive.create_contact(customer, "Hans", "en", "email")
    b = await console.browser("admin")
    await b.get("/account")
    assert (await b.post("/account/language", {"language": "en"})).status == 303
    resp = await b.client.get(f"/customers/{customer}")
    page = await resp.text()
    assert "Edit the contact" in page and "Add an identity" in page and "Add a contact" in page
    assert "Change the agreed deadlines" in page and "编辑" not in page
    assert "New customer" in await b.get("/customers")
    assert not re.search(r"<script(?![^>]*\bsrc=)", page) and " style=" not in page
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
