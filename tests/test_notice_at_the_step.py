"""Notices say what happened then (issue 13, item 10): a notice picks its recipients from, and
renders, the event's own data (the department the case had at that step, the note of a rejected
verification), not the case as it is when the dispatcher runs; a rejected verification has its
own notice."""

from __future__ import annotations

from tests.apihelpers import Api, api_fixture, assign, open_case  # noqa: F401  (the `api` fixture)
from tests.conftest import ListTransport
from tests.mailhelpers import parse, plain_text


def _sent(api: Api) -> list[tuple[str, str, str]]:
    transport = api.kefu.dispatcher.transport
    assert isinstance(transport, ListTransport)
    return [(m.recipients[0], str(parse(m.data)["Subject"]), plain_text(m.data)) for m in transport.sent]


async def test_an_assignment_notice_goes_to_the_department_of_that_step(api: Api) -> None:
    ref = await open_case(api.kefu, "转向器漏油", "三台车漏油。")
    await assign(api, ref, "quality")
    assert await api.step("gm", ref, "reassign", department="production_equipment") == "assigned"
    # Only now does the dispatcher run: the case belongs to production equipment already.
    await api.kefu.dispatcher.run_once()

    assigned = [(to, body) for to, subject, body in _sent(api) if "新分派" in subject]
    assert sorted(to for to, _ in assigned) == ["prod@supplier.example", "qe@supplier.example"]
    told = dict(assigned)
    assert "质量部" in told["qe@supplier.example"] and "生产装备部" not in told["qe@supplier.example"]
    assert "生产装备部" in told["prod@supplier.example"]


async def test_a_rejected_verification_has_its_own_notice_with_quality_s_note(api: Api) -> None:
    ref = await open_case(api.kefu, "转向器漏油", "三台车漏油。")
    await assign(api, ref, "production_equipment")
    assert await api.step("prod", ref, "analysis", analysis="密封圈批次不良") == "analysed"
    assert await api.step("prod", ref, "measures", measures="更换密封圈") == "measures_taken"
    assert await api.step("qe", ref, "reject-verification", note="复测仍有渗漏，请检查装配工艺") == "analysed"
    await api.kefu.dispatcher.run_once()

    rejected = [(to, body) for to, subject, body in _sent(api) if "验证未通过" in subject]
    assert [to for to, _ in rejected] == ["prod@supplier.example"]
    assert "复测仍有渗漏，请检查装配工艺" in rejected[0][1] and "生产装备部" in rejected[0][1]
