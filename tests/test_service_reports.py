"""On-site service and its report (procedure 6.2.7, 6.4, 6.3.6; record DFCPZL063A): planned,
filed, reviewed; the customer's representative confirms by replying to the report's own
notice (a stranger's reply confirms nothing), or staff record a paper confirmation with the
scan; the report renders like the paper form."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from cases.store.models import ServiceReport
from tests.quality_helpers import (  # noqa: F401  (the fixture)
    CUSTOMER,
    Quality,
    b64,
    pdf_text,
    pdf_tools_missing,
    quality,
)

PLAN = {
    "engineers": "王工（质量部）、李工（技术开发部）",
    "start": "2026-10-09T09:00+08:00",
    "location": "东风总装二厂 3号线",
    "equipment": "扭力扳手、备件 3501-00123 ×10",
    "task": "现场排查制动异响，更换问题批次",
}
REPORT = {
    "work_done": "拆检 12 台车制动器，更换 B2026-0815 批次摩擦片 10 件",
    "findings": "摩擦片倒角不足，与制动盘局部干涉",
    "parts_replaced": "3501-00123 × 10",
    "result": "复测无异响，客户现场确认",
    "minutes_spent": 330,
    "failure_mode": "NOISE",
}
SCAN = b"%PDF-1.4\n% signed service report, scanned\n%%EOF\n"


async def _reviewed(quality: Quality) -> tuple[str, int, str]:
    """A case with a reviewed report: (reference, report id, the request's Message-ID)."""
    api = quality.api
    reference = await quality.open_case("现场服务请求：制动异响")
    await api.step("gm", reference, "approve", department="quality")
    planned = await api.call("sales", "POST", f"/cases/{reference}/service-reports", PLAN, expect=201)
    assert planned["record_number"] == "DFCPZL063A-2026-0001" and planned["state"] == "planned"
    report = f"/cases/{reference}/service-reports/{planned['id']}"
    await api.error("gm", "POST", report + "/review", {}, expect=409)  # nothing filed yet
    unknown = await api.error("qe", "POST", report + "/report", {**REPORT, "failure_mode": "SQUEAL"}, expect=422)
    assert "failure mode 'SQUEAL'" in unknown["message"]  # a code of the managed list
    assert (await api.call("qe", "POST", report + "/report", REPORT))["state"] == "reported"
    await api.error("qe", "POST", report + "/review", {}, expect=403)  # the management representative reviews
    assert (await api.call("gm", "POST", report + "/review", {"note": "同意"}))["state"] == "reviewed"
    (request,) = await quality.deliveries("service_confirmation")
    async with quality.kefu.db.reader() as s:
        stored = await s.get(ServiceReport, planned["id"])
        assert stored is not None
    assert request.recipient == CUSTOMER and request.message_id == stored.confirmation_message_id
    assert request.message_id is not None
    return reference, planned["id"], request.message_id


async def test_the_customers_reply_to_the_reports_notice_confirms_the_report(quality: Quality) -> None:
    api = quality.api
    reference, report_id, message_id = await _reviewed(quality)
    (mail,) = quality.mails_to(CUSTOMER, "DFCPZL063A-2026-0001")
    assert mail["Message-ID"].strip("<>") == message_id
    body = mail.get_body(("plain",))
    assert body is not None and "满意 / 一般 / 不满意" in body.get_content()

    outcome = await quality.receive("Re: 服务报告单", "满意，谢谢王工。", in_reply_to=message_id)
    assert (outcome.reference, outcome.rating) == (reference, "satisfied")
    (report,) = (await api.call("sales", "GET", f"/cases/{reference}/service-reports"))["items"]
    assert (report["state"], report["confirmed_how"], report["confirmation_rating"]) == (
        "confirmed",
        "reply",
        "satisfied",
    )
    assert report["confirmed_by"] == f"张伟 <{CUSTOMER}>"
    case = await api.call("sales", "GET", f"/cases/{reference}")
    assert case["state"] == "assigned" and case["rating"] is None  # the report, not the case
    assert "service_confirm_by_reply" in [h["action"] for h in case["history"]]
    confirmed = await quality.deliveries("service_confirmed")
    assert "sales@supplier.example" in {d.recipient for d in confirmed}

    form = await api.client.get(
        f"/api/v1/cases/{reference}/service-reports/{report_id}/form",
        headers={"Authorization": f"Bearer {api.tokens['sales']}"},
    )
    html = await form.text()
    assert form.status == 200 and form.content_type == "text/html"
    assert "服务报告单" in html and "DFCPZL063A-2026-0001" in html and reference in html
    assert "☑满意" in html and "邮件回复" in html and "5.5 小时" in html


async def test_a_strangers_reply_to_the_reports_notice_confirms_nothing(quality: Quality) -> None:
    api = quality.api
    reference, _, message_id = await _reviewed(quality)
    outcome = await quality.receive(
        "Re: 服务报告单", "满意", sender="someone@elsewhere.example", in_reply_to=message_id
    )
    assert outcome.reference == reference and outcome.speaker == "third_party"
    (report,) = (await api.call("sales", "GET", f"/cases/{reference}/service-reports"))["items"]
    assert report["state"] == "reviewed" and report["confirmed_at"] is None
    # A reply of the customer to another notice of the case (the acknowledgement) is an ordinary message.
    (ack,) = await quality.deliveries("case_opened")
    plain = await quality.receive("Re: 已收到您的反馈", "满意", in_reply_to=ack.message_id)
    assert plain.reference == reference and plain.rating is None
    (report,) = (await api.call("sales", "GET", f"/cases/{reference}/service-reports"))["items"]
    assert report["state"] == "reviewed"


async def test_not_satisfied_sends_the_report_back_and_unclear_goes_to_a_person(quality: Quality) -> None:
    api = quality.api
    reference, report_id, message_id = await _reviewed(quality)
    unclear = await quality.receive("Re: 服务报告单", "请问下次什么时候来？", in_reply_to=message_id)
    assert unclear.rating == "unclear"
    disputed = await quality.receive("Re: 服务报告单", "不满意，还是有异响", in_reply_to=message_id)
    assert disputed.rating == "unsatisfied"
    (report,) = (await api.call("sales", "GET", f"/cases/{reference}/service-reports"))["items"]
    assert (report["state"], report["confirmation_rating"]) == ("reported", "unsatisfied")
    report_path = f"/cases/{reference}/service-reports/{report_id}"
    assert (await api.call("qe", "POST", report_path + "/report", REPORT))["state"] == "reported"


async def test_a_confirmation_on_paper_shows_the_scan(quality: Quality) -> None:
    api = quality.api
    reference, report_id, _ = await _reviewed(quality)
    path = f"/cases/{reference}/service-reports/{report_id}/paper-confirmation"
    body = {
        "confirmed_by": "刘经理（东风总装二厂）",
        "rating": "satisfied",
        "note": "现场签字",
        "scan": {"filename": "服务报告单签字.pdf", "content_type": "application/pdf", "data": b64(SCAN)},
    }
    await api.error("gm", "POST", path, body, expect=403)
    await api.error("sales", "POST", path, {**body, "rating": "great"}, expect=422)
    assert (await api.call("sales", "POST", path, body))["state"] == "confirmed"
    await api.error("sales", "POST", path, body, expect=409)  # once
    (report,) = (await api.call("qe", "GET", f"/cases/{reference}/service-reports"))["items"]
    assert (report["confirmed_how"], report["confirmed_by"], report["recorded_by"]) == (
        "paper",
        "刘经理（东风总装二厂）",
        "sales",
    )
    (scan,) = report["files"]
    assert (scan["purpose"], scan["filename"]) == ("confirmation_scan", "服务报告单签字.pdf")
    got = await api.client.get(scan["url"], headers={"Authorization": f"Bearer {api.tokens['qe']}"})
    assert await got.read() == SCAN
    form = await api.client.get(
        f"/api/v1/cases/{reference}/service-reports/{report_id}/form?language=en",
        headers={"Authorization": f"Bearer {api.tokens['qe']}"},
    )
    html = await form.text()
    assert "Service Report" in html and "signed on paper" in html and "服务报告单签字.pdf" in html
    async with quality.kefu.db.reader() as s:
        assert (await s.execute(select(ServiceReport.confirmed_how))).scalar_one() == "paper"


async def test_the_form_escapes_what_people_typed(quality: Quality) -> None:
    api = quality.api
    reference = await quality.open_case("现场服务")
    planned = await api.call(
        "sales", "POST", f"/cases/{reference}/service-reports", {**PLAN, "task": "<script>x</script>"}, expect=201
    )
    form = await api.client.get(
        f"/api/v1/cases/{reference}/service-reports/{planned['id']}/form",
        headers={"Authorization": f"Bearer {api.tokens['sales']}"},
    )
    html = await form.text()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "待顾客代表确认" in html


async def test_a_reply_that_keeps_only_the_reports_own_reply_address_confirms_it(quality: Quality) -> None:
    api = quality.api
    reference, report_id, _ = await _reviewed(quality)
    (mail,) = quality.mails_to(CUSTOMER, "DFCPZL063A-2026-0001")
    reply_to = str(mail["Reply-To"])
    token = reply_to.split("+", 1)[1].split("@", 1)[0]
    assert token == f"{reference.lower()}.sr{report_id}." + token.rsplit(".", 1)[1]
    forged = token[:-1] + ("a" if token[-1] != "a" else "b")
    stray = await quality.receive("服务报告单", "满意", address_token=forged)
    assert stray.reference != reference  # a token we did not sign names nothing
    outcome = await quality.receive("服务报告单", "一般", address_token=token)
    assert (outcome.reference, outcome.rating) == (reference, "neutral")
    (report,) = (await api.call("sales", "GET", f"/cases/{reference}/service-reports"))["items"]
    assert (report["state"], report["confirmation_rating"], report["confirmed_how"]) == (
        "confirmed",
        "neutral",
        "reply",
    )


def test_a_report_token_names_its_case_and_report_and_cannot_be_forged() -> None:
    from cases.domain.tokens import Signer

    signer, other = Signer("one"), Signer("two")
    token = signer.report_token("FB-2026-000123", 42)
    now = datetime(2026, 12, 5, tzinfo=UTC)
    assert signer.verify_report_token(token) == ("FB-2026-000123", 42)
    assert signer.address_reference(token, now) == "FB-2026-000123"
    assert signer.address_reference(signer.case_token("FB-2026-000123"), now) == "FB-2026-000123"
    assert other.verify_report_token(token) is None and other.address_reference(token, now) is None
    assert signer.verify_report_token(token.replace(".sr42.", ".sr43.")) is None
    assert signer.verify_case_token(token) is None  # not a case token: no other use of it


async def test_the_report_renders_as_a_pdf_through_the_document_renderer(quality: Quality, tmp_path: Path) -> None:
    missing = pdf_tools_missing()
    if missing:
        pytest.skip(missing)
    api = quality.api
    reference, report_id, _ = await _reviewed(quality)
    got = await api.client.get(
        f"/api/v1/cases/{reference}/service-reports/{report_id}/form?format=pdf",
        headers={"Authorization": f"Bearer {api.tokens['sales']}"},
    )
    assert got.status == 200 and got.content_type == "application/pdf"
    text = pdf_text(await got.read(), tmp_path)
    assert "服务报告单" in text and "DFCPZL063A-2026-0001" in text and reference in text
