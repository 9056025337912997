"""The customer archive in the console: search, a customer's contacts with their identities,
reply channel and language, the service agreement, their cases; merge and undo through
ArchiveService. SQLite and PostgreSQL (the `kefu` fixture)."""

from __future__ import annotations

import re

from sqlalchemy import select

from cases.domain.actors import Actor
from cases.domain.enums import Role
from cases.quality import agreements
from cases.store.models import Case, Identity
from tests.consolehelpers import Console, console_fixture  # noqa: F401

SALES = Actor(label="sales", roles=frozenset({Role.SALES}))


async def _customer(console: Console) -> tuple[int, int, int]:
    archive = console.kefu.archive
    customer = await archive.create_customer("东风零部件有限公司", "DFMC", "zh")
    wang = await archive.create_contact(
        customer, "王工", "zh", "phone", [("phone", "138 0013 8000"), ("email", "Wang@DFMC.cn")]
    )
    li = await archive.create_contact(customer, "李经理 <b>", "en", "email", [("fax", "+86 27 8888 0000")])
    return customer, wang, li


async def test_the_list_searches_by_name_or_code(console: Console) -> None:
    customer, _, _ = await _customer(console)
    await console.kefu.archive.create_customer("Bosch Automotive", "BOSCH")
    b = await console.browser("qe")
    page = await b.get("/")
    assert 'href="/customers"' in page and 'href="/entries/new"' not in page
    page = await b.get("/customers?q=dfmc")
    assert f'href="/customers/{customer}"' in page and "Bosch" not in page
    page = await b.get("/customers?q=东风")
    assert "东风零部件有限公司" in page and "Bosch" not in page
    page = await b.get("/customers")
    assert "东风零部件有限公司" in page and "Bosch Automotive" in page
    assert "没有找到客户" in await b.get("/customers?q=nobody-like-this")


async def test_a_customer_page_shows_contacts_identities_agreement_and_cases(console: Console) -> None:
    customer, wang, li = await _customer(console)
    async with console.kefu.db.unit_of_work() as s:
        await agreements.replace_terms(
            s, SALES, customer, [agreements.term("first_answer", 4, "h")], console.kefu.clock()
        )
    b = await console.browser("sales")
    await b.get("/entries/new")
    resp = await b.post(
        "/entries",
        {"kind": "phone", "at": "2026-12-05T09:30", "contact": str(wang), "customer": "DFMC", "subject": "刹车片异响"},
    )
    assert resp.status == 303
    reference = resp.headers["Location"].split("/")[2].split("?")[0]
    page = await b.get(f"/customers/{customer}")
    assert "王工" in page and "+8613800138000" in page and "wang@dfmc.cn" in page and "+862788880000" in page
    assert "李经理 &lt;b&gt;" in page  # escaped, as everything
    # 李's only identity is a fax: the email in that row is the reply channel, 英文 the language
    row = re.search(rf'id="contact-{li}">(.*?)</tr>', page, re.S)
    assert row and "邮件" in row.group(1) and "英文" in row.group(1)
    assert "首次答复: 4 小时" in page and "已约定" in page  # the agreed term; the rest are defaults
    assert f'href="/cases/{reference}"' in page
    await b.get("/customers/999999", expect=404)
    await b.get("/customers/abc", expect=404)


async def test_department_members_may_not_open_the_archive(console: Console) -> None:
    customer, _, _ = await _customer(console)
    b = await console.browser("prod")
    assert 'href="/customers"' not in await b.get("/")
    await b.get("/customers", expect=403)
    await b.get(f"/customers/{customer}", expect=403)


async def test_merging_two_contacts_and_undoing_it(console: Console) -> None:
    customer, wang, li = await _customer(console)
    b = await console.browser("sales")
    page = await b.get(f"/customers/{customer}")
    assert 'id="form-merge-contact"' in page
    resp = await b.post(f"/customers/{customer}/merge", {"kind": "contact", "source": str(li), "target": str(wang)})
    assert resp.status == 303 and resp.headers["Location"] == f"/customers/{customer}?done=merged"
    page = await b.get(resp.headers["Location"])
    assert "已合并" in page
    undo = re.search(rf'action="(/customers/{customer}/merges/\d+/undo)"', page)
    assert undo
    async with console.kefu.db.reader() as s:
        fax = select(Identity.contact_id).where(Identity.value == "+862788880000")
        assert (await s.execute(fax)).scalar_one() == wang  # the fax number moved to 王工
    resp = await b.post(undo.group(1), {})
    assert resp.status == 303
    page = await b.get(resp.headers["Location"])
    assert "合并已撤销" in page and "李经理" in page
    async with console.kefu.db.reader() as s:
        assert (await s.execute(fax)).scalar_one() == li  # and back
    # undoing twice is refused by the service and shown on the page
    resp = await b.post(undo.group(1), {})
    assert resp.status == 409


async def test_merging_a_customer_moves_its_cases_and_only_sales_may(console: Console) -> None:
    customer, _, _ = await _customer(console)
    other = await console.kefu.archive.create_customer("东风零部件", "DF-OLD")
    b = await console.browser("sales")
    await b.get("/entries/new")
    resp = await b.post(
        "/entries", {"kind": "letter", "at": "2026-12-05T09:30", "customer": "DF-OLD", "subject": "来函"}
    )
    assert resp.status == 303
    gm = await console.browser("gm")
    page = await gm.get(f"/customers/{other}")
    assert "form-merge" not in page  # approvers read the archive; Sales keep it
    resp = await gm.post(
        f"/customers/{other}/merge", {"kind": "customer", "source": str(other), "target": str(customer)}
    )
    assert resp.status == 403
    await b.get(f"/customers/{other}")
    resp = await b.post(f"/customers/{other}/merge", {"kind": "customer", "source": str(other), "target": "x"})
    assert resp.status == 422
    resp = await b.post(
        f"/customers/{other}/merge", {"kind": "customer", "source": str(other), "target": str(customer)}
    )
    assert resp.status == 303 and resp.headers["Location"] == f"/customers/{customer}?done=merged"
    async with console.kefu.db.reader() as s:
        assert (await s.execute(select(Case.customer_id))).scalar_one() == customer
    page = await b.get(f"/customers/{customer}")
    assert "来函" in page and "客户合并" in page and f"#{other} → #{customer}" in page  # its case, the merge


async def test_the_archive_renders_in_english(console: Console) -> None:
    customer, _, _ = await _customer(console)
    b = await console.browser("admin")
    await b.get("/account")
    assert (await b.post("/account/language", {"language": "en"})).status == 303
    page = await b.get(f"/customers/{customer}")
    assert "Contacts" in page and "Service agreement" in page and "Merge and undo" in page and "联系人" not in page
    assert "Customers" in await b.get("/customers")


async def test_the_new_pages_keep_the_strict_policy_and_no_inline_script_or_style(console: Console) -> None:
    customer, _, _ = await _customer(console)
    b = await console.browser("admin")
    for path in ("/entries/new", "/customers", f"/customers/{customer}"):
        resp = await b.client.get(path)
        text = await resp.text()
        assert resp.status == 200, (path, resp.status)
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert " style=" not in text and "<style" not in text, path
