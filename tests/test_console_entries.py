"""Log an entry in the console: the form goes through EntryService (the API's and the CLI's
service), a double submit opens one case, the caller lookup is a session-only JSON read, and
the page is only for the sales desk. SQLite and PostgreSQL (the `kefu` fixture)."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from cases.domain.enums import Channel
from cases.store.models import Case, CaseHistory, Contact, Identity, StaffEntry
from tests.consolehelpers import Console, console_fixture  # noqa: F401

FORM_TOKEN = re.compile(r'name="form_token" value="([0-9a-f]{32})"')


def _call(**extra: str) -> dict[str, str]:
    return {
        "kind": "phone",
        "at": "2026-12-05T09:30",
        "caller_number": "138 0013 8000",
        "caller_name": "王工",
        "customer": "东风零部件",
        "subject": "刹车片异响",
        "description": "客户来电：装车后刹车片异响，批次 B2611。",
        "part_number": "BP-4471",
        "batch": "B2611",
        "quantity": "12",
        **extra,
    }


async def _cases(console: Console) -> int:
    async with console.kefu.db.reader() as s:
        return int((await s.execute(select(func.count(Case.id)))).scalar_one())


async def test_a_logged_call_opens_a_case_and_shows_it_with_a_confirmation(console: Console) -> None:
    b = await console.browser("sales")
    page = await b.get("/entries/new")
    assert 'href="/entries/new"' in page and 'href="/customers"' in page  # in the navigation
    token = FORM_TOKEN.search(page)
    assert token
    resp = await b.post("/entries", {**_call(), "form_token": token.group(1)})
    assert resp.status == 303, await resp.text()
    location = resp.headers["Location"]
    assert re.fullmatch(r"/cases/FB-\d{4}-\d{6}\?done=logged", location)
    reference = location.split("/")[2].split("?")[0]
    page = await b.get(location)
    assert f"已登记，案件 {reference} 已创建。" in page and "刹车片异响" in page
    async with console.kefu.db.reader() as s:
        case = (await s.execute(select(Case).where(Case.reference == reference))).scalar_one()
        assert case.channel is Channel.PHONE and case.part_number == "BP-4471" and case.quantity == 12
        number = (await s.execute(select(Identity.value).where(Identity.contact_id == case.contact_id))).scalar_one()
        assert number == "+8613800138000"  # normalised by the service, as over the API
        logged = (
            await s.execute(
                select(CaseHistory.note).where(CaseHistory.case_id == case.id, CaseHistory.action == "logged")
            )
        ).scalar_one()
        assert "2026-12-05 09:30" in logged and "sales" in logged
        assert (await s.execute(select(StaffEntry.form_token))).scalar_one() == token.group(1)


async def test_a_double_submit_opens_one_case(console: Console) -> None:
    b = await console.browser("sales")
    token = FORM_TOKEN.search(await b.get("/entries/new"))
    assert token
    form = {**_call(), "form_token": token.group(1)}
    first = await b.post("/entries", form)
    second = await b.post("/entries", form)
    assert first.status == second.status == 303
    assert second.headers["Location"] == first.headers["Location"].replace("done=logged", "done=logged_before")
    assert await _cases(console) == 1
    page = await b.get(second.headers["Location"])
    assert "此表单已提交过" in page
    # every page has a new token: the next call is a new case
    token2 = FORM_TOKEN.search(await b.get("/entries/new"))
    assert token2 and token2.group(1) != token.group(1)


async def test_a_refused_entry_shows_the_form_again_with_what_was_typed(console: Console) -> None:
    b = await console.browser("sales")
    await b.get("/entries/new")
    resp = await b.post("/entries", _call(subject="", description="", caller_name="李四"))
    assert resp.status == 422
    text = await resp.text()
    assert "请填写主题，或描述客户反映的内容" in text and 'value="李四"' in text
    await b.get("/entries/new")
    resp = await b.post("/entries", _call(at="2099-01-01T10:00"))
    assert resp.status == 422 and "晚于当前时间" in await resp.text()
    await b.get("/entries/new")
    resp = await b.post("/entries", _call(quantity="zwölf"))
    assert resp.status == 422
    await b.get("/entries/new")
    resp = await b.post("/entries", _call(kind="email"))
    assert resp.status == 422
    assert await _cases(console) == 0


async def test_the_form_without_a_csrf_token_logs_nothing(console: Console) -> None:
    b = await console.browser("sales")
    await b.get("/entries/new")
    resp = await b.post("/entries", _call(), csrf=False)
    assert resp.status == 403
    assert await _cases(console) == 0


async def test_the_caller_lookup_finds_a_contact_by_number_or_name_and_the_pick_is_used(console: Console) -> None:
    b = await console.browser("sales")
    await b.get("/entries/new")
    assert (await b.post("/entries", _call())).status == 303
    for q in ("0013 8000", "138-0013", "王工"):
        resp = await b.client.get("/entries/callers", params={"q": q})
        assert resp.status == 200 and resp.content_type == "application/json"
        items = json.loads(await resp.text())["items"]
        assert [i["name"] for i in items] == ["王工"], q
        assert items[0]["numbers"] == ["+8613800138000"] and items[0]["customer"] == "东风零部件"
    resp = await b.client.get("/entries/callers", params={"q": "9"})  # too short: nothing
    assert json.loads(await resp.text())["items"] == []
    picked = items[0]["contact_id"]
    # the script's pick goes as `contact`; a new call by the same person lands on that contact
    await b.get("/entries/new")
    resp = await b.post("/entries", _call(contact=str(picked), caller_number="", caller_name="", customer=""))
    assert resp.status == 303
    async with console.kefu.db.reader() as s:
        contacts = list((await s.execute(select(Case.contact_id))).scalars())
        assert contacts == [picked, picked]
        assert (await s.execute(select(func.count(Contact.id)))).scalar_one() == 1


async def test_the_page_and_the_lookup_are_for_the_sales_desk_only(console: Console) -> None:
    for who in ("gm", "prod", "qe"):
        b = await console.browser(who)
        page = await b.get("/")
        assert 'href="/entries/new"' not in page, who
        await b.get("/entries/new", expect=403)
        resp = await b.client.get("/entries/callers", params={"q": "王工"})
        assert resp.status == 403, who
        await b.get("/")
        resp = await b.post("/entries", _call())
        assert resp.status == 403, who
    assert await _cases(console) == 0
    # without a session the lookup is not a JSON answer but the way to sign in
    anonymous = await console.browser()
    resp = await anonymous.client.get("/entries/callers", params={"q": "王工"}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/signin")


async def test_the_entry_page_renders_in_english(console: Console) -> None:
    b = await console.browser("admin")
    await b.get("/account")
    assert (await b.post("/account/language", {"language": "en"})).status == 303
    page = await b.get("/entries/new")
    assert "Log customer feedback" in page and "Caller&#39;s number" in page and "登记" not in page


async def test_a_letter_with_its_scan_keeps_the_scan_as_an_attachment(console: Console) -> None:
    from aiohttp import FormData

    from cases.store.models import Attachment as StoredAttachment

    b = await console.browser("sales")
    await b.get("/entries/new")
    data = FormData(quote_fields=False)  # as a browser sends a file name: UTF-8, not %-quoted
    for name, value in {**_call(kind="letter", caller_number=""), "csrf_token": b.csrf()}.items():
        data.add_field(name, value)
    data.add_field("attachment", b"%PDF-1.4 scan", filename="来函.pdf", content_type="application/pdf")
    resp = await b.client.post("/entries", data=data, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    reference = resp.headers["Location"].split("/")[2].split("?")[0]
    page = await b.get(f"/cases/{reference}")
    assert "来函.pdf" in page
    async with console.kefu.db.reader() as s:
        case = (await s.execute(select(Case).where(Case.reference == reference))).scalar_one()
        assert case.channel is Channel.LETTER
        stored = list((await s.execute(select(StoredAttachment))).scalars())
        assert len(stored) == 1 and stored[0].filename == "来函.pdf"
