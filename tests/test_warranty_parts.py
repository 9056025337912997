"""Warranty claim parts (三包索赔件, procedure 6.2.6 / 6.2.8) through the API: recorded as
fields, decided by Quality; "not ours" and "no trouble found" mail the explanation with the
evidence attached, "ours" starts the corrective action with the customer's deadline."""

from __future__ import annotations

from sqlalchemy import select

from cases.domain.enums import Language
from cases.store.models import Case, OutboxEvent
from tests.quality_helpers import CUSTOMER, Quality, b64, quality  # noqa: F401  (the fixture)

PART = {
    "part_number": "3501-00123",
    "batch": "B2026-0815",
    "quantity_received": 3,
    "vin": "LGBH52E05KY123456",
    "mileage_km": 18500,
    "months_in_service": 7,
    "failure_description": "制动时异响",
    "failure_mode": "NOISE",
    "failure_date": "2026-09-02",
    "production_date": "2026-02-11",
    "claim_number": "DF-CLM-88812",
    "received_on": "2026-09-25",
    "cost_cents": 123450,
}
REPORT_PDF = b"%PDF-1.4\n% bench test report: friction 0.42, noise 62 dB(A) < 70 dB(A)\n%%EOF\n"


async def test_a_part_is_recorded_as_fields(quality: Quality) -> None:
    api = quality.api
    reference = await quality.open_case("三包索赔件退回")
    await api.error("prod", "POST", f"/cases/{reference}/warranty-parts", PART, expect=404)  # not theirs
    await api.error("gm", "POST", f"/cases/{reference}/warranty-parts", PART, expect=403)
    # the failure mode is a code of the managed list (GET /failure-modes), as the reports count it
    braking = {**PART, "failure_mode": "NOISE-BRAKE"}
    unknown = await api.error("sales", "POST", f"/cases/{reference}/warranty-parts", braking, expect=422)
    assert "failure mode 'NOISE-BRAKE'" in unknown["message"]
    await api.call("qe", "PUT", "/failure-modes/NOISE-BRAKE", {"name_zh": "制动异响", "name_en": "Brake noise"})
    await api.call("sales", "POST", f"/cases/{reference}/warranty-parts", braking, expect=201)
    created = await api.call("sales", "POST", f"/cases/{reference}/warranty-parts", PART, expect=201)
    (_, part) = (await api.call("qe", "GET", f"/cases/{reference}/warranty-parts"))["items"]
    assert part["id"] == created["id"]
    assert {k: part[k] for k in PART} == PART
    assert part["currency"] == "CNY" and part["decision"] is None and part["evidence"] == []
    bad = await api.error(
        "sales", "POST", f"/cases/{reference}/warranty-parts", {**PART, "failure_date": "02/09/2026"}, expect=422
    )
    assert "failure date" in bad["message"]
    await api.error("sales", "POST", f"/cases/{reference}/warranty-parts", {**PART, "mileage_km": -1}, expect=400)
    await api.error("sales", "POST", f"/cases/{reference}/warranty-parts", {**PART, "colour": "red"}, expect=400)


async def test_not_ours_mails_the_explanation_with_the_evidence(quality: Quality) -> None:
    api = quality.api
    reference = await quality.open_case("三包索赔件退回")
    await api.step("gm", reference, "approve", department="quality")
    part_id = (await api.call("sales", "POST", f"/cases/{reference}/warranty-parts", PART, expect=201))["id"]
    upload = {"file": {"filename": "台架试验报告.pdf", "content_type": "application/pdf", "data": b64(REPORT_PDF)}}
    await api.error("sales", "POST", f"/cases/{reference}/warranty-parts/{part_id}/evidence", upload, expect=403)
    await api.call("qe", "POST", f"/cases/{reference}/warranty-parts/{part_id}/evidence", upload, expect=201)
    decision = {"decision": "not_ours", "test_results": "台架试验：摩擦系数 0.42，噪声 62 dB(A)，符合技术协议。"}
    await api.error("sales", "POST", f"/cases/{reference}/warranty-parts/{part_id}/decision", decision, expect=403)
    result = await api.call("qe", "POST", f"/cases/{reference}/warranty-parts/{part_id}/decision", decision)
    assert result == {"reference": reference, "state": "assigned"}
    await api.error("qe", "POST", f"/cases/{reference}/warranty-parts/{part_id}/decision", decision, expect=409)

    async with quality.kefu.db.reader() as s:
        event = (await s.execute(select(OutboxEvent).where(OutboxEvent.kind == "warranty_explained"))).scalar_one()
    assert event.payload["attachments"][0]["filename"] == "台架试验报告.pdf"
    (delivery,) = await quality.deliveries("warranty_explanation")
    assert (delivery.recipient, delivery.status) == (CUSTOMER, "sent")
    (mail,) = quality.mails_to(CUSTOMER, "三包索赔件分析结论")
    assert reference in str(mail["Subject"])
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "不属于我方" in text and "噪声 62 dB(A)" in text and "DF-CLM-88812" in text
    (attached,) = list(mail.iter_attachments())
    assert attached.get_filename() == "台架试验报告.pdf"
    assert attached.get_content_type() == "application/pdf" and attached.get_content() == REPORT_PDF
    (part,) = (await api.call("qe", "GET", f"/cases/{reference}/warranty-parts"))["items"]
    assert (part["decision"], part["decided_by"]) == ("not_ours", "qe")
    download = await api.client.get(
        part["evidence"][0]["url"], headers={"Authorization": f"Bearer {api.tokens['sales']}"}
    )
    assert download.status == 200 and await download.read() == REPORT_PDF


async def test_no_trouble_found_says_so_in_english_to_an_english_customer(quality: Quality) -> None:
    api = quality.api
    reference = await quality.open_case("Returned part", sender="j.smith@oem.example")
    async with quality.kefu.db.unit_of_work() as s:  # the case is answered in English
        case = (await s.execute(select(Case).where(Case.reference == reference))).scalar_one()
        case.language = Language.EN
    part_id = (await api.call("qe", "POST", f"/cases/{reference}/warranty-parts", PART, expect=201))["id"]
    decision = {"decision": "no_trouble_found", "test_results": "Noise 62 dB(A), limit 70 dB(A)."}
    await api.call("qe", "POST", f"/cases/{reference}/warranty-parts/{part_id}/decision", decision)
    await quality.deliveries("warranty_explanation")
    (mail,) = quality.mails_to("j.smith@oem.example", "warranty part")
    body = mail.get_body(("plain",))
    assert body is not None and "no trouble found (NTF)" in body.get_content()
    assert list(mail.iter_attachments()) == []  # no evidence file was uploaded: the text alone


async def test_ours_starts_the_corrective_action_with_the_customers_deadline(quality: Quality) -> None:
    api = quality.api
    reference = await quality.open_case("三包索赔件退回")
    await api.step("gm", reference, "approve", department="quality")
    part_id = (await api.call("sales", "POST", f"/cases/{reference}/warranty-parts", PART, expect=201))["id"]
    bad = {"decision": "not_ours", "test_results": "x", "capa_deadline": "2026-10-20"}
    await api.error("qe", "POST", f"/cases/{reference}/warranty-parts/{part_id}/decision", bad, expect=422)
    decision = {"decision": "ours", "test_results": "摩擦片材料硬度超差。", "capa_deadline": "2026-10-20"}
    await api.call("qe", "POST", f"/cases/{reference}/warranty-parts/{part_id}/decision", decision)
    case = await api.call("qe", "GET", f"/cases/{reference}")
    assert case["customer_deadline"] == "2026-10-20T15:59:59Z"
    closure = next(s for s in case["due_steps"] if s["step"] == "closure")
    assert (closure["due_at"], closure["source"]) == ("2026-10-20T15:59:59Z", "customer")
    assert any(h["action"] == "set_deadline" for h in case["history"])
    ours = await quality.deliveries("warranty_ours")
    assert "qe@supplier.example" in {d.recipient for d in ours}
    assert await quality.deliveries("warranty_explanation") == []  # nothing to explain to the customer


QUALITY_NOTICES = [
    ("staff", "due_step_near", {"step": "root_cause", "due": "2026-10-13T15:59:59Z", "due_local": "2026-10-13 23:59"}),
    ("staff", "due_step_passed", {"step": "containment", "due": "", "due_local": "2026-10-01 10:00"}),
    ("customer", "warranty_explanation", {**PART, "quantity": 3, "decision": "no_trouble_found", "test_results": "ok"}),
    ("staff", "warranty_decided", {"part_number": "3501", "quantity": 1, "decision": "not_ours"}),
    ("staff", "warranty_ours", {"part_number": "3501", "batch": "B1", "test_results": "硬度超差"}),
]
REPORT_DETAILS = {
    "record_number": "DFCPZL063A-2026-0001",
    "engineers": "王工",
    "planned_start_local": "2026-10-09 09:00",
    "location": "总装二厂",
    "task": "排查",
    "work_done": "更换",
    "findings": "倒角不足",
    "result": "无异响",
}
QUALITY_NOTICES += [
    ("staff", "service_planned", REPORT_DETAILS),
    ("staff", "service_review_needed", REPORT_DETAILS),
    ("customer", "service_confirmation", REPORT_DETAILS),
    (
        "staff",
        "service_confirmed",
        {"record_number": "X", "rating": "unsatisfied", "how": "paper", "confirmed_by": "刘"},
    ),
]


def test_every_quality_notice_renders_in_both_languages() -> None:
    from notifications.render import Renderer
    from tests.test_render import sample_context

    renderer = Renderer()
    for audience, template, details in QUALITY_NOTICES:
        for language in ("zh", "en"):
            rendered = renderer.render(audience, template, "email", language, {**sample_context(), "details": details})
            assert rendered.subject.startswith("[FB-") and rendered.body, (template, language)
