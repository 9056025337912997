"""The staff console's server side through aiohttp's test client: sign-in and sessions, CSRF,
throttling, department access, the workflow steps as forms, escaping, the pages in both
languages. The same scenarios in a real browser: tests/test_console_browser.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from sqlalchemy import select, update

from cases.domain.enums import CaseState, Channel
from cases.domain.intake_message import Attachment
from cases.queries.case_views import EVERYTHING, CaseFilter, list_cases
from cases.store.models import Case, CaseHistory, ConsoleSession, InboundMessage, OutboxEvent
from kefu.console.web import COOKIE, client_address, safe_next
from tests.apihelpers import open_case
from tests.consolehelpers import PASSWORD, Console, console_fixture  # noqa: F401

PAGES = ["/", "/cases", "/account", "/quarantine", "/users", "/departments", "/templates"]


async def _refusals(console: Console, reference: str) -> list[tuple[str, str]]:
    async with console.kefu.db.reader() as s:
        rows = await s.execute(
            select(CaseHistory.actor, CaseHistory.note)
            .join(Case, Case.id == CaseHistory.case_id)
            .where(Case.reference == reference, CaseHistory.action == "refused")
            .order_by(CaseHistory.id)
        )
        return [(r[0], r[1]) for r in rows]


async def _state(console: Console, reference: str) -> CaseState:
    async with console.kefu.db.reader() as s:
        return (await s.execute(select(Case.state).where(Case.reference == reference))).scalar_one()


async def test_a_link_from_a_notice_opens_its_case_after_sign_in(console: Console) -> None:
    reference = await open_case(console.kefu, "刹车片异响")
    b = await console.browser()
    resp = await b.client.get(f"/cases/{reference}", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == f"/signin?next=/cases/{reference}"
    page = await b.get(resp.headers["Location"])
    assert f'name="next" value="/cases/{reference}"' in page
    signed = await b.sign_in("gm", next_path=f"/cases/{reference}")
    assert signed.status == 303 and signed.headers["Location"] == f"/cases/{reference}"
    page = await b.get(f"/cases/{reference}")
    assert "刹车片异响" in page and 'id="form-approve"' in page


async def test_the_sign_in_form_without_its_token_signs_nobody_in(console: Console) -> None:
    b = await console.browser()
    # another site's form: no token, and no token cookie either (it cannot set ours)
    resp = await b.client.post("/signin", data={"username": "gm", "password": PASSWORD}, allow_redirects=False)
    assert resp.status == 403 and COOKIE not in resp.cookies
    await b.get("/signin")
    resp = await b.client.post(
        "/signin", data={"username": "gm", "password": PASSWORD, "csrf_token": "guessed" * 6}, allow_redirects=False
    )
    assert resp.status == 403 and COOKIE not in resp.cookies
    assert (await b.sign_in("gm")).status == 303


def test_next_goes_only_to_a_path_of_this_site() -> None:
    assert safe_next("/cases/FB-2026-000001") == "/cases/FB-2026-000001"
    for evil in ("//evil.example/x", "https://evil.example", "javascript:alert(1)", "/\\evil.example", None, ""):
        assert safe_next(evil) == "/"


async def test_the_session_cookie_is_httponly_samesite_and_new_at_every_sign_in(console: Console) -> None:
    b = await console.browser()
    first = await b.sign_in("gm")
    cookie = first.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    second = await b.sign_in("gm")
    assert second.cookies[COOKIE].value != cookie.value
    async with console.kefu.db.reader() as s:
        stored = list((await s.execute(select(ConsoleSession.token_hash))).scalars())
    assert len(stored) == 2 and cookie.value not in stored  # only hashes are kept


async def test_signing_out_ends_the_session_in_the_database(console: Console) -> None:
    b = await console.browser("gm")
    await b.get("/")
    token = b.client.session.cookie_jar.filter_cookies(b.client.make_url("/"))[COOKIE].value
    resp = await b.post("/signout", {})
    assert resp.status == 303
    assert await console.kefu.console_auth.session(token) is None
    resp = await b.client.get("/", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/signin")


async def test_every_page_has_a_strict_content_security_policy_and_no_inline_script(console: Console) -> None:
    reference = await open_case(console.kefu, "刹车片异响")
    b = await console.browser("admin")
    for path in [*PAGES, f"/cases/{reference}", "/signin"]:
        resp = await b.client.get(path)
        text = await resp.text()
        assert resp.status == 200, (path, resp.status)
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path  # every script is a file
        assert " style=" not in text and "<style" not in text, path
        assert re.search(r'<meta name="viewport" content="width=device-width', text)


async def test_a_form_posted_without_its_csrf_token_changes_nothing(console: Console) -> None:
    reference = await open_case(console.kefu, "刹车片异响")
    b = await console.browser("gm")
    await b.get(f"/cases/{reference}")
    resp = await b.post(f"/cases/{reference}/act/approve", {"department": "quality"}, csrf=False)
    assert resp.status == 403
    assert "安全令牌" in await resp.text()
    resp = await b.client.post(
        f"/cases/{reference}/act/approve", data={"department": "quality", "csrf_token": "forged"}
    )
    assert resp.status == 403
    assert await _state(console, reference) is CaseState.NEW
    # and the sign-out form is no exception: a cross-site post cannot sign anyone out
    resp = await b.post("/signout", {}, csrf=False)
    assert resp.status == 403
    await b.get("/")  # still signed in


async def test_ten_wrong_passwords_throttle_the_account_even_for_the_right_one(console: Console) -> None:
    b = await console.browser()
    statuses = [(await b.sign_in("qe", "wrong password!")).status for _ in range(10)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    resp = await b.sign_in("qe", PASSWORD)
    assert resp.status == 429
    assert "请 15 分钟后再试" in await resp.text()
    # another account from elsewhere is not held up by it
    other = await console.browser(headers={})
    assert (await other.sign_in("sales")).status == 303


async def test_many_accounts_tried_from_one_address_throttle_that_address(console: Console) -> None:
    b = await console.browser()
    for n in range(20):
        assert (await b.sign_in(f"guess{n}", "x" * 12)).status == 401
    assert (await b.sign_in("gm", PASSWORD)).status == 429


def test_x_forwarded_for_counts_only_from_a_trusted_proxy() -> None:
    def request(peer: str, forwarded: str) -> web.Request:
        req = make_mocked_request("GET", "/", headers={"X-Forwarded-For": forwarded})
        req._transport_peername = (peer, 1234)  # what request.remote reads
        return req

    proxies = ("10.0.0.0/8",)
    assert client_address(request("203.0.113.9", "198.51.100.1"), proxies) == "203.0.113.9"
    assert client_address(request("10.0.0.2", "198.51.100.1"), proxies) == "198.51.100.1"
    # the client's own left part is ignored: the right-most untrusted hop counts
    assert client_address(request("10.0.0.2", "1.2.3.4, 198.51.100.1, 10.0.0.5"), proxies) == "198.51.100.1"
    assert client_address(request("10.0.0.2", "198.51.100.1"), ()) == "10.0.0.2"
    assert client_address(request("10.0.0.2", "not-an-address"), proxies) == "10.0.0.2"


async def test_a_member_of_another_department_can_neither_open_nor_act_on_a_case(console: Console) -> None:
    reference = await open_case(console.kefu, "刹车片异响")
    gm = await console.browser("gm")
    assert await gm.step(reference, "approve", department="quality") == 303
    prod = await console.browser("prod")
    page = await prod.get(f"/cases/{reference}", expect=404)
    assert "刹车片异响" not in page
    await prod.get("/cases")
    assert reference not in prod.last_page
    await prod.get("/")
    resp = await prod.post(f"/cases/{reference}/act/analysis", {"analysis": "我们的分析"})
    assert resp.status == 404
    resp = await prod.client.get(f"/cases/{reference}/attachments/1")
    assert resp.status == 404
    assert await _state(console, reference) is CaseState.ASSIGNED
    # the refusals are in the case's audit history, for its owners to see
    refused = await _refusals(console, reference)
    assert [(who, note) for who, note in refused] == [
        ("prod", "console: open the case page"),
        ("prod", "console: step analysis"),
        ("prod", "console: download attachment 1"),
    ]
    page = await gm.get(f"/cases/{reference}")
    assert "console: step analysis" in page


async def test_a_step_the_role_may_not_take_is_not_offered_and_refused_if_forged(console: Console) -> None:
    reference = await open_case(console.kefu, "刹车片异响")
    sales = await console.browser("sales")
    page = await sales.get(f"/cases/{reference}")
    assert 'id="form-approve"' not in page and 'id="form-notes"' in page
    resp = await sales.post(f"/cases/{reference}/act/approve", {"department": "sales"})
    assert resp.status == 403
    assert await _state(console, reference) is CaseState.NEW
    assert [who for who, _ in await _refusals(console, reference)] == ["sales"]
    resp = await sales.post(f"/cases/{reference}/act/no-such-step", {})
    assert resp.status == 404


async def test_the_procedure_through_the_console_forms(console: Console) -> None:
    reference = await open_case(console.kefu, "刹车片异响", "零件号：3501-00123\n批次：B2026-1107\n装车后刹车片异响。")
    gm, qe, sales = [await console.browser(w) for w in ("gm", "qe", "sales")]
    assert await gm.step(reference, "approve", department="quality", severity="medium", note="") == 303
    page = await gm.get(f"/cases/{reference}?done=approve")
    assert 'data-state="assigned"' in page
    # a required field left empty is refused with the form kept
    assert await qe.step(reference, "analysis", analysis="  ") == 422
    assert await qe.step(reference, "analysis", analysis="摩擦材料批次问题") == 303
    assert await qe.step(reference, "measures", measures="更换供应商并全检") == 303
    assert await qe.step(reference, "verify", verification="复测合格") == 303
    assert await sales.step(reference, "reply", message="已更换，请确认是否满意。") == 303
    assert await _state(console, reference) is CaseState.AWAITING_SATISFACTION
    assert await sales.step(reference, "notes", text="客户电话确认收到") == 303
    page = await sales.get(f"/cases/{reference}")
    for text in ("摩擦材料批次问题", "更换供应商并全检", "复测合格", "已更换，请确认是否满意。", "客户电话确认收到"):
        assert text in page
    # a step out of turn answers 409 and changes nothing
    assert await qe.step(reference, "verify", verification="again") in (403, 409)


async def test_mail_with_script_and_onerror_shows_as_text(console: Console) -> None:
    body = "请看 <script>alert('x')</script> 和 <img src=x onerror=alert(1)>"
    reference = await open_case(
        console.kefu,
        "<script>alert(1)</script>异响",
        body,
        html="<p>hi<img src=x onerror=alert(1)></p>",
        attachments=(Attachment("page.html", "text/html", b"<script>alert(2)</script>"),),
    )
    b = await console.browser("gm")
    page = await b.get(f"/cases/{reference}")
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "onerror=alert(1)&gt;" in page
    attachment_id = re.search(rf"/cases/{reference}/attachments/(\d+)", page)
    assert attachment_id
    resp = await b.client.get(f"/cases/{reference}/attachments/{attachment_id.group(1)}")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["Content-Security-Policy"].startswith("sandbox")


async def test_changing_my_password_ends_my_other_sessions(console: Console) -> None:
    laptop, phone = await console.browser("tech"), await console.browser("tech")
    await laptop.get("/account")
    resp = await laptop.post(
        "/account/password",
        {"current_password": "not it at all", "new_password": "a new secret 1", "new_password_again": "a new secret 1"},
    )
    assert resp.status == 400
    await laptop.get("/account")
    resp = await laptop.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "a new secret 1", "new_password_again": "a new secret 1"},
    )
    assert resp.status == 303
    await laptop.get("/account?done=password_changed")  # the new session works here
    resp = await phone.client.get("/", allow_redirects=False)
    assert resp.status == 303  # the other one is over
    fresh = await console.browser()
    assert (await fresh.sign_in("tech", PASSWORD)).status == 401
    assert (await fresh.sign_in("tech", "a new secret 1")).status == 303


async def test_an_admin_reset_gives_a_one_time_set_up_link(console: Console) -> None:
    victim = await console.browser("sales")
    admin = await console.browser("admin")
    await admin.get("/users")
    page = await (await admin.post("/users/sales/reset-password", {})).text()
    link = re.search(r'id="setup-link">[^<]*?(/setup/[A-Za-z0-9_-]+)<', page)
    assert link, page
    assert (await victim.client.get("/", allow_redirects=False)).status == 303  # signed out
    b = await console.browser()
    assert (await b.sign_in("sales", PASSWORD)).status == 401  # the old password is gone
    await b.get(link.group(1))
    form_token = b.csrf()
    resp = await b.post(link.group(1), {"new_password": "fresh password", "new_password_again": "fresh password"})
    assert resp.status == 303 and resp.headers["Location"] == "/"
    await b.get("/")  # signed in
    again = await b.client.post(
        link.group(1),
        data={"new_password": "other password", "new_password_again": "other password", "csrf_token": form_token},
    )
    assert again.status == 400  # used once
    non_admin = await console.browser("gm")
    resp = await non_admin.client.get("/users")
    assert resp.status == 403


async def test_my_work_counts_what_waits_for_each_role(console: Console) -> None:
    first = await open_case(console.kefu, "刹车片异响")
    await open_case(console.kefu, "漏油")
    gm = await console.browser("gm")
    page = await gm.get("/")
    assert re.search(r'id="count-waiting_approver">2<', page)
    assert re.search(r'id="count-unanswered">2<', page)
    assert await gm.step(first, "approve", department="quality") == 303
    qe = await console.browser("qe")
    page = await qe.get("/")
    assert re.search(r'id="count-waiting_department">1<', page) and first in page
    assert "waiting_approver" not in page


async def test_the_case_list_filters_sorts_and_pages(console: Console) -> None:
    kefu = console.kefu
    refs = [await open_case(kefu, f"案件 {n}", f"零件号：3501-0012{n}\n异响") for n in range(3)]
    async with kefu.db.unit_of_work() as s:
        await s.execute(update(Case).where(Case.reference == refs[0]).values(part_number="3501-00120", batch="B7"))
        await s.execute(
            update(Case)
            .where(Case.reference == refs[1])
            .values(customer_deadline=kefu.clock() - timedelta(hours=1), severity="critical")
        )
    b = await console.browser("gm")
    page = await b.get("/cases?part_number=3501-00120")
    assert refs[0] in page and refs[2] not in page
    page = await b.get("/cases?batch=B7&state=new")
    assert refs[0] in page and refs[1] not in page
    page = await b.get("/cases?overdue=1")
    assert refs[1] in page and refs[0] not in page
    page = await b.get("/cases?severity=critical&channel=email&type=quality_complaint")
    assert refs[1] in page or "0 件" in page
    page = await b.get("/cases?sort=received&order=asc&q=案件")
    assert page.index(refs[0]) < page.index(refs[2])
    # The list sorts only on the keyset orders its indexes serve (cases/queries/keyset.py).
    await b.get("/cases?sort=subject", expect=400)
    page = await b.get("/cases?customer=no such company")
    assert refs[0] not in page
    await b.get("/cases?state=nonsense", expect=400)
    await b.get("/cases?received_from=yesterday", expect=400)
    async with kefu.db.reader() as s:
        newest = await list_cases(s, EVERYTHING, CaseFilter(limit=1))
    assert newest["items"][0]["reference"] == refs[2] and newest["total"] == 3


async def test_the_quarantine_shows_the_reason_and_a_safe_preview_and_re_runs(console: Console) -> None:
    from intake.inbox import RawInput

    kefu = console.kefu
    raw = (
        b"From: x@spam.example\r\nSubject: <b>win</b>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>hello<script>alert(1)</script><img src=x onerror=alert(2)></p>\r\n"
    )
    await kefu.inbox.put(RawInput(channel=Channel.EMAIL, dedupe_key="q1", raw=raw))
    async with kefu.db.unit_of_work() as s:
        await s.execute(update(InboundMessage).values(status="quarantined", reason="looks like bulk mail"))
        inbound_id = (await s.execute(select(InboundMessage.id))).scalar_one()
    b = await console.browser("admin")
    page = await b.get("/quarantine")
    assert "looks like bulk mail" in page and "hello" in page
    assert "<script>" not in page and "<img" not in page and "&lt;b&gt;win&lt;/b&gt;" in page
    resp = await b.post(f"/quarantine/{inbound_id}/rerun", {})
    assert resp.status == 303
    async with kefu.db.reader() as s:
        assert (await s.execute(select(InboundMessage.status))).scalar_one() == "pending"
    # a notice the fan-out set aside, put back
    await open_case(kefu, "刹车片异响")
    async with kefu.db.unit_of_work() as s:
        event_id = (await s.execute(select(OutboxEvent.id).order_by(OutboxEvent.id))).scalars().first()
        await s.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == event_id)
            .values(fanout_error="<b>no template</b>", fanned_out_at=kefu.clock())
        )
    page = await b.get("/quarantine")
    assert f'id="event-{event_id}"' in page and "&lt;b&gt;no template&lt;/b&gt;" in page
    resp = await b.post(f"/quarantine/notices/{event_id}/refan", {})
    assert resp.status == 303
    async with kefu.db.reader() as s:
        assert (await s.get(OutboxEvent, event_id)).fanout_error is None  # type: ignore[union-attr]
    dept = await console.browser("prod")
    refused = await dept.client.get("/quarantine")
    assert refused.status == 403 and "您无权执行此操作" in await refused.text()
    assert "default-src 'none'" in refused.headers["Content-Security-Policy"]


async def test_every_page_renders_in_english_for_a_person_who_chose_it(console: Console) -> None:
    reference = await open_case(console.kefu, "刹车片异响")
    b = await console.browser("admin")
    page = await b.get("/")
    assert "我的工作" in page and 'lang="zh-CN"' in page
    await b.get("/account")
    resp = await b.post("/account/language", {"language": "en"})
    assert resp.status == 303
    for path in [*PAGES, f"/cases/{reference}"]:
        page = await b.get(path)
        assert 'lang="en"' in page and "我的工作" not in page, path
    assert "Add an internal note" in page and "Timeline" in page
    assert "Sign in" in await (await console.browser(headers={"Accept-Language": "en-GB"})).get("/signin")


def test_every_word_a_template_names_is_in_the_table_in_both_languages() -> None:
    from pathlib import Path

    from cases.queries.my_work import WAITING_FOR
    from cases.services.departments import DEEDS
    from kefu.console import i18n
    from kefu.console.case_pages import SORTS as SORT_KEYS
    from kefu.web.api.cases import STEPS

    folder = Path(i18n.__file__).parent / "templates"
    named = {key for p in folder.glob("*.html") for key in re.findall(r"\bt\('([a-z_0-9-]+)'", p.read_text())}
    composed = {k for k in named if k.endswith("_")}  # t('act_' + step.segment) and the like
    assert composed == {"act_", "department_did_", "field_", "sort_"}
    named -= composed
    named |= {f"act_{step.segment}" for step in STEPS} | {f"field_{f.name}" for step in STEPS for f in step.fields}
    named |= {f"sort_{key}" for key in SORT_KEYS} | {f"waiting_{role}" for role in WAITING_FOR}
    named |= {f"department_did_{deed}" for deed in DEEDS}
    named |= {"steps_overdue", "steps_due", "unanswered", "unsatisfied"}  # My work's sections
    assert not named - set(i18n.TEXT), named - set(i18n.TEXT)
    assert all((zh and en and zh != en) or key == "signin_button" for key, (zh, en) in i18n.TEXT.items())
    for kind in ("state", "channel", "type", "severity"):
        assert all(set(names) == {"zh", "en"} for names in i18n.LABELS[kind].values()), kind


async def test_times_show_in_the_configured_time_zone(console: Console) -> None:
    from datetime import UTC, datetime

    reference = await open_case(console.kefu, "刹车片异响", received_at=datetime(2026, 11, 30, 17, 30, tzinfo=UTC))
    b = await console.browser("gm")
    page = await b.get(f"/cases/{reference}")
    assert "2026-12-01 01:30" in page  # Asia/Shanghai, UTC+8


async def test_a_session_ends_when_its_hours_are_over(console: Console) -> None:
    from dataclasses import replace

    from cases.services.sessions import ConsoleAuth, Outcome

    now = [console.kefu.clock()]
    settings = replace(console.kefu.settings, console_session_hours=2.0)
    auth = ConsoleAuth(console.kefu.db, lambda: now[0], settings, console.kefu.console_auth.passwords)
    signed = await auth.sign_in("gm", PASSWORD, "192.0.2.1")
    assert signed.outcome is Outcome.SIGNED_IN and signed.token
    assert await auth.session(signed.token) is not None
    now[0] += timedelta(hours=2, seconds=1)
    assert await auth.session(signed.token) is None
    assert await auth.session("made-up") is None


async def test_our_fault_is_a_page_that_says_so_and_is_logged(
    console: Console, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from kefu.console import work_pages

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(work_pages, "my_work", broken)
    b = await console.browser("gm")
    resp = await b.client.get("/")
    text = await resp.text()
    assert resp.status == 500 and "系统出错，已记录" in text and "database went away" not in text
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert "console: GET / failed" in caplog.text
